//! A small synthetic world in region 99 (示范市): two townships, one household each, a run
//! with a red warning in each, and users of every kind. Every name and number is made up.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use domain::{Date, Fen, Gender, PersonStatus, RegionCode, Relation, ResidentId};
use http_body_util::BodyExt;
use std::sync::Arc;
use store::privacy::{Algorithm, Kek};
use store::{
    HouseholdProfile, Level, NewUser, PopulationRow, RecommendationRow, Role, RunResults, Scope,
    Store, TaskRules, Tier, Timestamp, WarningRow,
};
use tower::ServiceExt;

/// 2026-07-01 10:00 in China.
pub const NOW: Timestamp = Timestamp(1_782_871_200);
pub const PASSWORD: &str = "correct horse battery";

pub fn resident_id(seq: u32) -> ResidentId {
    let first17 = format!("99010119500101{seq:03}");
    let check = domain::id::check_char(first17.as_bytes()) as char;
    ResidentId::parse(&format!("{first17}{check}")).unwrap()
}

pub fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}

pub fn as_of() -> Date {
    Date::from_ymd(2026, 6, 30).unwrap()
}

pub fn profile(household: &str, region_code: &str) -> HouseholdProfile {
    HouseholdProfile {
        household_id: household.into(),
        region_code: region(region_code),
        size: 1,
        tekun_members: 0,
        per_capita_income: Fen::from_yuan(400),
        tier: Tier::Dibao,
        dibao_amount: Fen::from_yuan(600),
        score: 35,
        level: Level::Red,
        tags: vec!["below_standard".into(), "elderly_alone".into()],
        explanation: serde_json::json!({"steps": [{
            "result": "tier", "rule": "tier.dibao", "source": "社会救助暂行办法 第九条",
            "holds": true, "facts": [["income", "400.00"]], "params": [["std", "1000.00"]],
            "text_zh": "家庭人均收入低于低保标准", "text_en": "Income per member is below the standard"
        }]}),
    }
}

/// Two counties of region 99, one township each.
pub const BOUNDARIES: &str = r#"{"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"code":"990101000000","name":"和平区"},
   "geometry":{"type":"Polygon","coordinates":[[[113,30],[113.5,30],[113.5,30.5],[113,30.5],[113,30]]]}},
  {"type":"Feature","properties":{"code":"990102000000","name":"安康区"},
   "geometry":{"type":"Polygon","coordinates":[[[113.5,30],[114,30],[114,30.5],[113.5,30.5],[113.5,30]]]}},
  {"type":"Feature","properties":{"code":"990101001000","name":"幸福街道"},
   "geometry":{"type":"Polygon","coordinates":[[[113,30],[113.25,30],[113.25,30.5],[113,30.5],[113,30]]]}},
  {"type":"Feature","properties":{"code":"990101002000","name":"和谐镇"},
   "geometry":{"type":"Polygon","coordinates":[[[113.25,30],[113.5,30],[113.5,30.5],[113.25,30.5],[113.25,30]]]}}
]}"#;

pub struct World {
    pub app: Router,
    pub state: web::AppState,
    pub task_a: i64,
    _dir: tempfile::TempDir,
}

pub async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("jiuzhu.db").display());
    let kek = Kek::from_bytes(&[7u8; 32]).unwrap();
    let store = Store::open(&url, &kek, Algorithm::default(), NOW)
        .await
        .unwrap();
    let admin = Scope::system();
    for (name, role, prefix) in [
        ("cw_a", Role::Caseworker, "990101001"),
        ("cw_b", Role::Caseworker, "990101002"),
        ("analyst", Role::Analyst, "990101"),
        ("auditor", Role::Auditor, "990101"),
    ] {
        let user = NewUser {
            username: name.into(),
            roles: vec![role],
            region_prefix: prefix.into(),
            password: PASSWORD.into(),
        };
        store.add_user(&admin, &user, NOW).await.unwrap();
    }
    let person = |seq, household: &str, region_code: &str| PopulationRow {
        person_id: resident_id(seq),
        name: "欧阳明远".into(),
        gender: Gender::Male,
        household_id: household.into(),
        relation: Relation::Head,
        region_code: region(region_code),
        address: Some("示范市和平区幸福路18号".into()),
        status: PersonStatus::Normal,
        status_date: None,
        spouse_id: None,
        father_id: None,
        mother_id: None,
    };
    store
        .load_population(
            &admin,
            &[
                person(11, "HA0001", "990101001001"),
                person(21, "HB0001", "990101002201"),
            ],
        )
        .await
        .unwrap();
    let warning = |household: &str| WarningRow {
        household_id: household.into(),
        person_id: None,
        signal: "large_medical".into(),
        level: Level::Red,
        detected_at: as_of(),
    };
    let run = RunResults {
        run_id: "run-2026-06-30".into(),
        as_of: as_of(),
        policy: "default".into(),
        households: vec![
            profile("HA0001", "990101001001"),
            profile("HB0001", "990101002201"),
        ],
        persons: vec![],
        anomalies: vec![],
        warnings: vec![warning("HA0001"), warning("HB0001")],
        recommendations: vec![RecommendationRow {
            household_id: "HA0001".into(),
            kind: "cash".into(),
            item: "dibao".into(),
            amount: Some(Fen::from_yuan(600)),
            reason: "tier:dibao".into(),
        }],
        provenance: None,
    };
    store
        .load_run(&admin, &run, &TaskRules::default(), NOW)
        .await
        .unwrap();
    let tasks = store.tasks(&admin, None).await.unwrap();
    let users = store.users(&admin).await.unwrap();
    let id_of = |name: &str| users.iter().find(|u| u.username == name).unwrap().id;
    let mut task_a = 0;
    for t in &tasks {
        let who = if t.household_id == "HA0001" {
            "cw_a"
        } else {
            "cw_b"
        };
        if who == "cw_a" {
            task_a = t.id;
        }
        store
            .assign_task(&admin, t.id, id_of(who), NOW)
            .await
            .unwrap();
    }
    let store = Arc::new(store);
    let state = web::AppState::new_shared(
        store,
        Arc::new(|| NOW),
        web::WebConfig {
            secure_cookies: false,
            boundaries: web::map::parse_geojson(BOUNDARIES).unwrap(),
        },
    );
    World {
        app: web::router(state.clone()),
        state,
        task_a,
        _dir: dir,
    }
}

/// A browser-like client: keeps cookies, follows nothing by itself.
pub struct Client<'a> {
    pub app: &'a Router,
    pub cookies: Vec<(String, String)>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    /// The body as sent (downloads are compared byte for byte).
    pub bytes: Vec<u8>,
    /// The ledger entry a response names (`X-Ledger-Entry`).
    pub ledger_entry: Option<u64>,
}

impl<'a> Client<'a> {
    pub fn new(app: &'a Router) -> Self {
        Client {
            app,
            cookies: Vec::new(),
        }
    }

    async fn send(&mut self, request: Request<Body>) -> Page {
        let response = self.app.clone().oneshot(request).await.unwrap();
        for v in response.headers().get_all(header::SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|l| l.to_str().unwrap().to_string());
        let ledger_entry = response
            .headers()
            .get("x-ledger-entry")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            location,
            content_type,
            body: String::from_utf8_lossy(&body).into_owned(),
            bytes: body.to_vec(),
            ledger_entry,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        let request = Request::get(uri)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    pub async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(uri)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// A JSON API request: with a bearer token if given, else with the cookies (and the CSRF
    /// header if given).
    pub async fn api(
        &mut self,
        method: &str,
        uri: &str,
        bearer: Option<&str>,
        csrf: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Page {
        let mut request = Request::builder().method(method).uri(uri);
        match bearer {
            Some(token) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"))
            }
            None => request = request.header(header::COOKIE, self.cookie_header()),
        }
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let request = match body {
            Some(json) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    /// Signs in through the API and returns the bearer token.
    pub async fn api_token(&mut self, username: &str) -> String {
        let page = self
            .api(
                "POST",
                "/api/v1/session",
                None,
                None,
                Some(serde_json::json!({ "username": username, "password": PASSWORD })),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let value: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        value["token"].as_str().unwrap().to_string()
    }

    pub fn csrf_in(page: &Page) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = page.body.find(marker).expect("a form with a CSRF token") + marker.len();
        page.body[start..].split('"').next().unwrap().to_string()
    }

    pub async fn sign_in(&mut self, username: &str) {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = Self::csrf_in(&form);
        let page = self
            .post(
                "/login",
                &[
                    ("username", username),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert!(self.cookies.iter().any(|(k, _)| k == "jz_session"));
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
