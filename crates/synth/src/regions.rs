//! The divisions of the synthetic city 示范市 (province part `99`, city `01`): districts and
//! counties, their streets and townships, and under those residents' committees (urban,
//! 001-199) and villagers' committees (rural, 200-399). The tree is fixed, so maps and tests can
//! rely on the same codes whatever the seed. Also writes the tree as `regions.csv` and simple
//! non-overlapping boundaries as GeoJSON.

use crate::Rng64;
use std::fmt::Write as _;

/// A village-level unit: residents' committee (社区) or villagers' committee (村).
#[derive(Debug, Clone)]
pub struct Village {
    /// 12-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Villagers' committee (200-399).
    pub rural: bool,
}

/// A street (街道) or township (镇/乡).
#[derive(Debug, Clone)]
pub struct Township {
    /// 12-digit code ending in `000`.
    pub code: String,
    /// Name.
    pub name: String,
    /// Its village-level units.
    pub villages: Vec<Village>,
}

/// A district (区) or county (县).
#[derive(Debug, Clone)]
pub struct County {
    /// 6-digit code, also the address code of resident IDs registered there.
    pub code6: String,
    /// Name.
    pub name: String,
    /// Relative share of the population.
    pub weight: u32,
    /// Its streets and townships.
    pub townships: Vec<Township>,
}

/// The whole city.
#[derive(Debug, Clone)]
pub struct City {
    /// Districts and counties.
    pub counties: Vec<County>,
}

const CITY_CODE: &str = "990100000000";
const CITY_NAME: &str = "示范市";

/// Two-character place-name stems.
const STEMS: &[&str] = &[
    "和平", "新华", "建设", "人民", "友谊", "光明", "幸福", "团结", "胜利", "红旗", "长江", "黄河",
    "清河", "柳林", "桃园", "杏花", "梨树", "枫桥", "松山", "竹溪", "石桥", "金沙", "银湖", "玉泉",
    "青龙", "白马", "凤凰", "龙泉", "望江", "临湖", "东关", "西坝", "南塘", "北寨", "前进", "永安",
    "太平", "丰收", "兴隆", "富民", "安乐", "长寿", "双河", "三岔", "四方", "五里", "六合", "七星",
    "八角", "九龙", "十里", "高桥", "张庄", "李家", "王湾", "刘营", "陈集", "赵村", "孙岗", "周寨",
];

impl City {
    /// The fixed division tree of 示范市.
    pub fn build() -> City {
        // (code, name, is county, streets/towns, population weight)
        let plan: [(&str, &str, bool, usize, u32); 6] = [
            ("01", "中心区", false, 6, 24),
            ("02", "东湖区", false, 5, 20),
            ("03", "西山区", false, 5, 16),
            ("04", "南河县", true, 7, 15),
            ("05", "北岭县", true, 6, 13),
            ("06", "青石县", true, 6, 12),
        ];
        let mut stem = 0usize;
        let mut next_stem = || {
            let s = STEMS[stem % STEMS.len()];
            stem += 7;
            s
        };
        let counties = plan
            .iter()
            .enumerate()
            .map(|(ci, &(dd, name, is_county, towns, weight))| {
                let townships = (0..towns)
                    .map(|t| {
                        // Districts: streets 001.., the last one a town; counties: a town
                        // 101.. first, then townships 201...
                        let (ttt, suffix, urban, rural) = if !is_county {
                            if t + 1 < towns {
                                (1 + t, "街道", 6 + (t + ci) % 4, usize::from(t == 0))
                            } else {
                                (101, "镇", 2, 5)
                            }
                        } else if t < 2 {
                            (101 + t, "镇", 2, 7 + t % 3)
                        } else {
                            (201 + t - 2, "乡", 1, 6 + (t + ci) % 4)
                        };
                        let tcode = format!("9901{dd}{ttt:03}");
                        let tname = format!("{}{suffix}", next_stem());
                        let mut villages = Vec::new();
                        for v in 0..urban {
                            villages.push(Village {
                                code: format!("{tcode}{:03}", 1 + v),
                                name: format!("{}社区居民委员会", next_stem()),
                                rural: false,
                            });
                        }
                        for v in 0..rural {
                            villages.push(Village {
                                code: format!("{tcode}{:03}", 201 + v),
                                name: format!("{}村民委员会", next_stem()),
                                rural: true,
                            });
                        }
                        Township {
                            code: format!("{tcode}000"),
                            name: tname,
                            villages,
                        }
                    })
                    .collect();
                County {
                    code6: format!("9901{dd}"),
                    name: name.to_string(),
                    weight,
                    townships,
                }
            })
            .collect();
        City { counties }
    }

    /// A county (by population share) and a village-level unit in it; `rural` asks for a
    /// villagers' committee or a residents' committee when given.
    pub fn pick(&self, rng: &mut Rng64, rural: Option<bool>) -> (usize, &Village) {
        let total: u32 = self.counties.iter().map(|c| c.weight).sum();
        let mut r = rng.below(u64::from(total)) as u32;
        let mut ci = 0;
        for (i, c) in self.counties.iter().enumerate() {
            if r < c.weight {
                ci = i;
                break;
            }
            r -= c.weight;
        }
        let county = &self.counties[ci];
        loop {
            let town = rng.pick(&county.townships);
            let v = rng.pick(&town.villages);
            if rural.is_none_or(|want| want == v.rural) {
                return (ci, v);
            }
        }
    }

    /// The 6-digit address codes of the counties, in order.
    pub fn address_codes(&self) -> Vec<[u8; 6]> {
        self.counties
            .iter()
            .map(|c| {
                let mut a = [b'0'; 6];
                a.copy_from_slice(&c.code6.as_bytes()[..6]);
                a
            })
            .collect()
    }

    /// `regions.csv`: code, name, level, parent for the city, its counties, townships and
    /// village-level units.
    pub fn regions_csv(&self) -> String {
        let mut out = String::from("code,name,level,parent\r\n");
        let _ = write!(out, "{CITY_CODE},{CITY_NAME},city,990000000000\r\n");
        for c in &self.counties {
            let _ = write!(out, "{}000000,{},county,{CITY_CODE}\r\n", c.code6, c.name);
            for t in &c.townships {
                let _ = write!(out, "{},{},township,{}000000\r\n", t.code, t.name, c.code6);
                for v in &t.villages {
                    let _ = write!(out, "{},{},village,{}\r\n", v.code, v.name, t.code);
                }
            }
        }
        out
    }

    /// Boundaries of the counties and townships as a GeoJSON FeatureCollection: counties tile a
    /// 3 × 2 grid, each county is cut into townships by wavy north-south lines shared by the
    /// neighbours, so polygons never overlap. Properties: `code`, `name`, `level`.
    pub fn boundaries_geojson(&self) -> String {
        let (west, south) = (113.0_f64, 30.0_f64);
        let (cw, ch) = (0.45_f64, 0.40_f64);
        let mut features = Vec::new();
        for (i, c) in self.counties.iter().enumerate() {
            let x0 = west + (i % 3) as f64 * cw;
            let y0 = south + (i / 3) as f64 * ch;
            let ring = vec![(x0, y0), (x0 + cw, y0), (x0 + cw, y0 + ch), (x0, y0 + ch)];
            features.push(feature(&c.code6, &c.name, "county", &ring));
            let n = c.townships.len();
            // Cut line k (0..=n) as points from south to north; the outer lines are straight.
            let cut = |k: usize| -> Vec<(f64, f64)> {
                let x = x0 + cw * k as f64 / n as f64;
                (0..=4)
                    .map(|s| {
                        let y = y0 + ch * s as f64 / 4.0;
                        let wobble = if k == 0 || k == n || s == 0 || s == 4 {
                            0.0
                        } else {
                            let phase = (k * 3 + s + i) % 5;
                            (phase as f64 - 2.0) * cw / n as f64 * 0.12
                        };
                        (x + wobble, y)
                    })
                    .collect()
            };
            for (k, t) in c.townships.iter().enumerate() {
                let left = cut(k);
                let right = cut(k + 1);
                let mut ring: Vec<(f64, f64)> = left.clone();
                ring.extend(right.iter().rev());
                features.push(feature(&t.code, &t.name, "township", &ring));
            }
        }
        format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[{}]}}\n",
            features.join(",")
        )
    }
}

fn feature(code: &str, name: &str, level: &str, ring: &[(f64, f64)]) -> String {
    let mut full = code.to_string();
    while full.len() < 12 {
        full.push('0');
    }
    let mut coords = String::new();
    for (x, y) in ring.iter().chain(ring.first()) {
        if !coords.is_empty() {
            coords.push(',');
        }
        let _ = write!(coords, "[{x:.5},{y:.5}]");
    }
    format!(
        "{{\"type\":\"Feature\",\"properties\":{{\"code\":\"{full}\",\"name\":\"{name}\",\"level\":\"{level}\"}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[{coords}]]}}}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::RegionCode;

    #[test]
    fn every_code_is_a_valid_region_in_province_99_with_urban_and_rural_units() {
        let city = City::build();
        let mut urban = 0;
        let mut rural = 0;
        for c in &city.counties {
            for t in &c.townships {
                assert!(RegionCode::parse(&t.code).is_ok());
                for v in &t.villages {
                    let code = RegionCode::parse(&v.code).map_err(|e| e.to_string());
                    let Ok(code) = code else { panic!("{code:?}") };
                    assert!(code.starts_with("99"));
                    assert_eq!(code.is_rural(), v.rural);
                    if v.rural { rural += 1 } else { urban += 1 }
                }
            }
        }
        assert!(urban > 20 && rural > 20, "{urban} {rural}");
        let csv = city.regions_csv();
        assert!(csv.lines().count() > urban + rural);
    }

    #[test]
    fn boundaries_have_one_closed_polygon_per_county_and_township() {
        let city = City::build();
        let json = city.boundaries_geojson();
        let towns: usize = city.counties.iter().map(|c| c.townships.len()).sum();
        assert_eq!(
            json.matches("\"Feature\"").count(),
            city.counties.len() + towns
        );
        assert!(json.contains("\"code\":\"990101001000\""));
    }
}
