//! Chinese personal names: splitting surname from given name (compound surnames), traditional
//! to simplified characters for the characters common in names, and pinyin with the surname
//! readings of polyphonic characters (单 shan, 曾 zeng, 解 xie …). Latin names pass through in
//! lower case, so the same comparisons serve both scripts.

use pinyin::ToPinyin;

/// Two-character surnames, checked before the one-character split.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "令狐", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟", "闻人", "澹台",
    "申屠", "太史", "赫连", "钟离", "司空", "公羊", "东郭", "单于", "拓跋",
];

/// Readings of polyphonic characters when they are a surname; the general reading (the first
/// one in the dictionary) is often wrong for them.
const SURNAME_READINGS: &[(&str, &str)] = &[
    ("单", "shan"),
    ("曾", "zeng"),
    ("解", "xie"),
    ("区", "ou"),
    ("仇", "qiu"),
    ("朴", "piao"),
    ("查", "zha"),
    ("盖", "ge"),
    ("缪", "miao"),
    ("翟", "zhai"),
    ("乐", "yue"),
    ("覃", "qin"),
    ("召", "shao"),
    ("秘", "bi"),
    ("繁", "po"),
    ("折", "she"),
    ("员", "yun"),
    ("尉", "yu"),
    ("种", "chong"),
    ("祭", "zhai"),
    ("句", "gou"),
    ("那", "na"),
    ("谌", "chen"),
    ("都", "du"),
    ("柏", "bai"),
    ("藏", "zang"),
    ("重", "chong"),
    ("隗", "wei"),
    ("贾", "jia"),
    ("沈", "shen"),
    ("任", "ren"),
    ("华", "hua"),
    ("葛", "ge"),
    ("纪", "ji"),
    ("过", "guo"),
    ("宁", "ning"),
    ("朝", "chao"),
    ("莘", "shen"),
    ("长", "chang"),
    ("薄", "bo"),
    ("叶", "ye"),
    ("应", "ying"),
    ("相", "xiang"),
    ("万俟", "moqi"),
    ("尉迟", "yuchi"),
    ("单于", "chanyu"),
    ("长孙", "zhangsun"),
    ("令狐", "linghu"),
];

/// Traditional → simplified pairs for characters common in names (surnames first).
const TRADITIONAL: &str = "張张陳陈劉刘楊杨黃黄趙赵吳吴孫孙馬马鄭郑羅罗謝谢許许韓韩馮冯鄧邓蕭萧葉叶蘇苏\
呂吕盧卢鍾钟譚谭陸陆範范賈贾韋韦鄒邹閆闫龍龙萬万錢钱嚴严龔龚湯汤賀贺顧顾聶聂莊庄\
魯鲁餘余於于鄔邬歐欧陽阳馬马溫温黎黎廖廖錦锦偉伟華华麗丽軍军強强傑杰濤涛紅红國国東东鳳凤\
蘭兰雲云飛飞鵬鹏輝辉靜静嬌娇穎颖瑩莹寧宁榮荣誠诚順顺貴贵慶庆歡欢義义廣广鋒锋劍剑\
鑫鑫芳芳亞亚嬋婵鳴鸣曉晓燁烨興兴進进連连愛爱書书勝胜達达龍龙義义蓮莲蘋苹\
萍萍瑤瑶潔洁純纯聰聪寶宝貞贞麗丽鶴鹤鵑鹃綠绿雙双夢梦麟麟馨馨韻韵慧慧\
華华濱滨漢汉滿满豐丰傳传壽寿懷怀園园圓圆鐵铁銀银銘铭鋼钢釗钊長长開开開开\
學学軒轩暉晖煒炜熱热燈灯爾尔發发記记詩诗語语誼谊謙谦讓让豔艳貝贝賢贤質质\
車车輪轮農农運运遠远郵邮鄉乡醫医鎮镇門门問问閣阁陰阴隊队際际隨随險险雞鸡\
頂顶順顺須须頌颂領领頻频額额風风飄飘養养馮冯駿骏騰腾驍骁體体鬆松魚鱼鳥鸟\
麥麦齊齐齡龄億亿優优儀仪兒儿凱凯劉刘勁劲勛勋厲厉嘯啸團团塵尘壯壮婦妇嬰婴\
寬宽實实將将尋寻對对層层嶺岭帥帅幣币廳厅彥彦徵征懇恳戰战擁拥數数曄晔會会\
東东極极樂乐標标樹树歐欧歸归氣气漁渔潤润濟济災灾為为烏乌無无煥焕爍烁\
犖荦獻献現现琿珲瑋玮璽玺環环產产畢毕當当盤盘硯砚禮礼祿禄禎祯穩稳競竞筆笔\
節节紀纪紋纹純纯級级組组結结絲丝綱纲維维緒绪線线練练縣县總总繼继續续\
羅罗聖圣聲声肅肃與与艷艳藝艺蘊蕴處处號号蟬蝉衛卫裝装見见規规親亲覺觉\
觀观訓训誌志譽誉讚赞豪豪財财貫贯費费資资賓宾賞赏贊赞趙赵躍跃輕轻\
遼辽鄒邹釗钊銳锐鋒锋錫锡鍵键鎧铠鏡镜閃闪閔闵闖闯陳陈雋隽雜杂靈灵\
韓韩頤颐顏颜飆飙館馆騏骐驊骅髮发鬥斗鳳凤鴻鸿鵬鹏麗丽黃黄單单齒齿";

/// The pairs of [`TRADITIONAL`], sorted by traditional character (the first pair of a
/// character wins, as in the table's reading order).
static PAIRS: std::sync::LazyLock<Vec<(char, char)>> = std::sync::LazyLock::new(|| {
    let mut chars = TRADITIONAL
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\\');
    let mut pairs = Vec::new();
    while let (Some(t), Some(s)) = (chars.next(), chars.next()) {
        pairs.push((t, s));
    }
    // A stable sort keeps equal characters in table order; dedup keeps the first of each.
    pairs.sort_by_key(|p| p.0);
    pairs.dedup_by_key(|p| p.0);
    pairs
});

/// The simplified form of a character common in names; other characters are returned as they are.
pub fn simplify_char(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    match PAIRS.binary_search_by_key(&c, |p| p.0) {
        Ok(i) => PAIRS[i].1,
        Err(_) => c,
    }
}

/// Simplifies every character of `text` (see [`simplify_char`]).
pub fn simplify(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    text.chars().map(simplify_char).collect()
}

/// True for a CJK unified ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2A6DF}')
}

/// Splits a Chinese full name into (surname, given name), recognising compound surnames.
/// A name of one character is taken as a surname alone; names that are not Han characters
/// are returned whole as the given name with an empty surname.
pub fn split_full_name(full: &str) -> (String, String) {
    let name: String = full
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '·')
        .collect();
    if !name.chars().next().is_some_and(is_han) {
        return (String::new(), name);
    }
    let simplified = simplify(&name);
    for compound in COMPOUND_SURNAMES {
        if simplified.starts_with(compound) && simplified.chars().count() > 2 {
            let cut = name.char_indices().nth(2).map_or(name.len(), |(i, _)| i);
            return (name[..cut].to_string(), name[cut..].to_string());
        }
    }
    let cut = name.char_indices().nth(1).map_or(name.len(), |(i, _)| i);
    (name[..cut].to_string(), name[cut..].to_string())
}

/// Pinyin of a given name (or any text) without tones and separators: "小明" → "xiaoming".
/// Latin letters are lower-cased; other characters without a reading are dropped.
pub fn pinyin(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            }
            continue;
        }
        let s = simplify_char(c);
        if let Some(p) = s.to_pinyin() {
            out.push_str(p.plain());
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Pinyin of a surname, using the surname reading of polyphonic characters: "单" → "shan",
/// "曾" → "zeng", "解" → "xie".
pub fn surname_pinyin(surname: &str) -> String {
    let simplified = simplify(surname);
    if let Some((_, p)) = SURNAME_READINGS.iter().find(|(s, _)| *s == simplified) {
        return (*p).to_string();
    }
    if let Some(first) = simplified.chars().next()
        && is_han(first)
    {
        let mut buf = [0u8; 4];
        let head: &str = first.encode_utf8(&mut buf);
        if let Some((_, p)) = SURNAME_READINGS.iter().find(|(s, _)| *s == head) {
            let rest = &simplified[head.len()..];
            return format!("{p}{}", pinyin(rest));
        }
    }
    pinyin(&simplified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyphonic_surnames_read_as_surnames() {
        assert_eq!(surname_pinyin("单"), "shan");
        assert_eq!(surname_pinyin("曾"), "zeng");
        assert_eq!(surname_pinyin("解"), "xie");
        assert_eq!(surname_pinyin("区"), "ou");
        assert_eq!(surname_pinyin("张"), "zhang");
        assert_eq!(surname_pinyin("欧阳"), "ouyang");
        assert_eq!(surname_pinyin("張"), "zhang");
        // as a given name the general reading applies
        assert_eq!(pinyin("单"), "dan");
    }

    #[test]
    fn common_characters_have_pinyin() {
        assert_eq!(pinyin("伟"), "wei");
        assert_eq!(pinyin("小明"), "xiaoming");
        assert_eq!(pinyin("娜"), "na");
        assert_eq!(pinyin("丽丽"), "lili");
        assert_eq!(pinyin("Wei"), "wei");
        // homophones share pinyin
        assert_eq!(pinyin("晓明"), pinyin("小明"));
    }

    #[test]
    fn traditional_characters_simplify() {
        assert_eq!(simplify("張偉"), "张伟");
        assert_eq!(simplify("陳麗華"), "陈丽华");
        assert_eq!(simplify("李娜"), "李娜");
        assert_eq!(simplify_char('x'), 'x');
        // The table read pair by pair, as a reference for the sorted look-up.
        let by_scan = |c: char| {
            let mut chars = TRADITIONAL
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '\\');
            while let (Some(t), Some(s)) = (chars.next(), chars.next()) {
                if t == c {
                    return s;
                }
            }
            c
        };
        for c in TRADITIONAL
            .chars()
            .chain('\u{3400}'..='\u{9FFF}')
            .chain('a'..='z')
        {
            assert_eq!(simplify_char(c), by_scan(c), "{c}");
        }
        assert_eq!(simplify_char('齒'), '齿');
        assert_eq!(simplify_char('韓'), '韩');
        assert_eq!(simplify_char('單'), '单');
    }

    #[test]
    fn split_recognises_compound_surnames() {
        assert_eq!(split_full_name("欧阳娜娜"), ("欧阳".into(), "娜娜".into()));
        assert_eq!(split_full_name("歐陽娜娜"), ("歐陽".into(), "娜娜".into()));
        assert_eq!(split_full_name("王伟"), ("王".into(), "伟".into()));
        assert_eq!(split_full_name("欧阳"), ("欧".into(), "阳".into()));
        assert_eq!(split_full_name("王"), ("王".into(), "".into()));
        assert_eq!(split_full_name(""), ("".into(), "".into()));
        assert_eq!(split_full_name("john"), ("".into(), "john".into()));
    }

    #[test]
    fn traditional_table_is_well_formed() {
        let chars: Vec<char> = TRADITIONAL
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\\')
            .collect();
        assert_eq!(chars.len() % 2, 0, "the table holds pairs");
    }
}
