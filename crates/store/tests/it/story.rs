//! The stories: each runs unchanged on SQLite and on PostgreSQL.

use crate::backend::{T0, TestDb};
use crate::fixtures::{self, HOUSEHOLD_A, HOUSEHOLD_B};
use privacy::password::SessionToken;
use privacy::{Algorithm, Kek};
use store::{
    DecisionInput, Level, LoginOutcome, LoginRules, NewUser, Role, RunLoad, Scope, Store,
    StoreError, TaskRules, TaskState, Tier, Timestamp, User,
};

const PASSWORD: &str = "correct-horse-battery";

fn at(hours: i64) -> Timestamp {
    Timestamp(T0.0 + hours * 3600)
}

async fn user(store: &Store, name: &str, roles: &[Role], prefix: &str) -> User {
    store
        .add_user(
            &Scope::system(),
            &NewUser {
                username: name.to_string(),
                roles: roles.to_vec(),
                region_prefix: prefix.to_string(),
                password: PASSWORD.to_string(),
            },
            T0,
        )
        .await
        .expect("adds the user")
}

fn scope(user: &User) -> Scope {
    user.scope().expect("valid scope")
}

async fn load_all(store: &Store) {
    let system = Scope::system();
    store
        .load_population(&system, &fixtures::population())
        .await
        .expect("loads the population");
    store
        .load_run(&system, &fixtures::run_1(), &TaskRules::default(), T0)
        .await
        .expect("loads run 1");
}

async fn only_task(store: &Store, household: &str) -> i64 {
    let tasks = store
        .tasks(&Scope::system(), None)
        .await
        .expect("lists tasks");
    let mine: Vec<_> = tasks
        .iter()
        .filter(|t| t.household_id == household)
        .collect();
    assert_eq!(mine.len(), 1, "one task for the household");
    mine[0].id
}

pub async fn run_load_is_idempotent_and_keeps_history(db: &TestDb) {
    let store = &db.store;
    let system = Scope::system();
    let rules = TaskRules::default();
    let first = store
        .load_run(&system, &fixtures::run_1(), &rules, T0)
        .await
        .expect("loads");
    assert_eq!(
        first,
        RunLoad::Loaded {
            tasks_opened: 2,
            warnings_on_open_tasks: 0
        }
    );
    let again = store
        .load_run(&system, &fixtures::run_1(), &rules, at(1))
        .await
        .expect("loads again");
    assert_eq!(again, RunLoad::AlreadyLoaded);
    assert_eq!(store.runs(&system).await.expect("runs").len(), 1);
    assert_eq!(store.tasks(&system, None).await.expect("tasks").len(), 2);

    let second = store
        .load_run(&system, &fixtures::run_2(), &rules, at(24))
        .await
        .expect("loads run 2");
    assert_eq!(
        second,
        RunLoad::Loaded {
            tasks_opened: 0,
            warnings_on_open_tasks: 1
        }
    );
    let runs = store.runs(&system).await.expect("runs");
    assert_eq!(
        runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        ["2026-12-01-a", "2026-11-01-a"]
    );
    assert_eq!(runs[1].households, 2);
    assert_eq!(runs[1].loaded_at, T0);

    let history = store
        .profile_history(&system, HOUSEHOLD_A)
        .await
        .expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!((history[0].score, history[0].level), (70, Level::Orange));
    assert_eq!((history[1].score, history[1].level), (85, Level::Red));
    assert_eq!(history[1].tier, Tier::Dibao);

    let latest = store
        .household_report(&system, HOUSEHOLD_A, None)
        .await
        .expect("report")
        .expect("household A is known");
    assert_eq!(latest.run_id, "2026-12-01-a");
    assert_eq!(latest.profile.score, 85);

    let earlier = store
        .household_report(&system, HOUSEHOLD_A, Some("2026-11-01-a"))
        .await
        .expect("report")
        .expect("run 1 has household A");
    let expected = &fixtures::run_1();
    assert_eq!(earlier.profile, expected.households[0]);
    assert_eq!(earlier.persons, expected.persons);
    assert_eq!(earlier.anomalies, expected.anomalies);
    assert_eq!(earlier.warnings, expected.warnings[..1]);
    assert_eq!(earlier.recommendations, expected.recommendations);
    assert_eq!(earlier.profile.dibao_amount.0, 52_000);

    let b = store
        .household_report(&system, HOUSEHOLD_B, None)
        .await
        .expect("report")
        .expect("household B is known");
    assert_eq!(b.warnings[0].person_id, Some(fixtures::single_b()));

    let red = store
        .profiles(&system, "2026-11-01-a", Some(Level::Red))
        .await
        .expect("profiles");
    assert_eq!(red.len(), 1);
    assert_eq!(red[0].household_id, HOUSEHOLD_B);

    // The warning of run 2 is attached to the task run 1 opened.
    let task = only_task(store, HOUSEHOLD_A).await;
    let t = store
        .task(&system, task)
        .await
        .expect("task")
        .expect("exists");
    assert_eq!(t.run_id, "2026-11-01-a");
    assert_eq!(t.due_date.to_string(), "2026-11-08");

    // A result row naming a household without a profile refuses the whole run.
    let mut broken = fixtures::run_2();
    broken.run_id = "broken".to_string();
    broken.warnings[0].household_id = "NOPE".to_string();
    assert!(matches!(
        store.load_run(&system, &broken, &rules, at(30)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.runs(&system).await.expect("runs").len(), 2);
}

pub async fn scoping_hides_other_townships(db: &TestDb) {
    let store = &db.store;
    load_all(store).await;
    let worker_a = user(store, "wang.a", &[Role::Caseworker], fixtures::TOWNSHIP_A).await;
    let worker_b = user(store, "li.b", &[Role::Caseworker], fixtures::TOWNSHIP_B).await;
    let reviewer = user(store, "zhao.county", &[Role::Reviewer], fixtures::COUNTY).await;
    let analyst = user(store, "chen.analyst", &[Role::Analyst], fixtures::COUNTY).await;
    let (a, b, county) = (scope(&worker_a), scope(&worker_b), scope(&reviewer));

    // Households and persons of the other township are simply not found.
    assert!(
        store
            .household_report(&a, HOUSEHOLD_B, None)
            .await
            .expect("query")
            .is_none()
    );
    assert!(
        store
            .household_report(&a, HOUSEHOLD_A, None)
            .await
            .expect("query")
            .is_some()
    );
    assert!(
        store
            .find_person(&a, &fixtures::single_b())
            .await
            .expect("query")
            .is_none()
    );
    let head = store
        .find_person(&a, &fixtures::head_a())
        .await
        .expect("query")
        .expect("in township A");
    assert_eq!(head.name.expose(), fixtures::NAMES[0]);
    assert!(
        store
            .household_members(&b, HOUSEHOLD_A)
            .await
            .expect("query")
            .is_none()
    );
    assert!(
        store
            .profile_history(&b, HOUSEHOLD_A)
            .await
            .expect("query")
            .is_empty()
    );
    let seen_by_a = store
        .profiles(&a, "2026-11-01-a", None)
        .await
        .expect("profiles");
    assert_eq!(seen_by_a.len(), 1);
    assert_eq!(seen_by_a[0].household_id, HOUSEHOLD_A);
    assert_eq!(
        store
            .profiles(&county, "2026-11-01-a", None)
            .await
            .expect("profiles")
            .len(),
        2
    );

    // An analyst reads results but no personal data.
    assert_eq!(
        store
            .profiles(&scope(&analyst), "2026-11-01-a", None)
            .await
            .expect("profiles")
            .len(),
        2
    );
    assert!(matches!(
        store
            .find_person(&scope(&analyst), &fixtures::head_a())
            .await,
        Err(StoreError::Forbidden)
    ));

    // A caseworker sees only the tasks assigned to her.
    assert!(store.tasks(&a, None).await.expect("tasks").is_empty());
    assert_eq!(store.tasks(&county, None).await.expect("tasks").len(), 2);
    let task_a = only_task(store, HOUSEHOLD_A).await;
    let task_b = only_task(store, HOUSEHOLD_B).await;
    store
        .assign_task(&county, task_a, worker_a.id, at(1))
        .await
        .expect("assigns");
    store
        .assign_task(&county, task_b, worker_b.id, at(1))
        .await
        .expect("assigns");
    let mine = store.tasks(&a, None).await.expect("tasks");
    assert_eq!(mine.iter().map(|t| t.id).collect::<Vec<_>>(), [task_a]);
    assert!(store.task(&a, task_b).await.expect("query").is_none());
    assert!(matches!(
        store
            .move_task(&a, task_b, TaskState::Verifying, None, at(2))
            .await,
        Err(StoreError::NotFound)
    ));
    // A task cannot be given to someone outside its region; caseworkers do not assign.
    assert!(matches!(
        store.assign_task(&county, task_b, worker_a.id, at(2)).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.assign_task(&a, task_a, worker_a.id, at(2)).await,
        Err(StoreError::Forbidden)
    ));
}

pub async fn task_states_and_history(db: &TestDb) {
    let store = &db.store;
    load_all(store).await;
    let worker = user(store, "wang.a", &[Role::Caseworker], fixtures::TOWNSHIP_A).await;
    let reviewer = user(store, "zhao.county", &[Role::Reviewer], fixtures::COUNTY).await;
    let (me, county) = (scope(&worker), scope(&reviewer));
    let task = only_task(store, HOUSEHOLD_A).await;

    store
        .assign_task(&county, task, worker.id, at(1))
        .await
        .expect("assigns");
    let note = "入户核查：张小华住院";
    let t = store
        .move_task(&me, task, TaskState::Verifying, Some(note), at(2))
        .await
        .expect("starts");
    assert_eq!(t.state, TaskState::Verifying);
    store
        .move_task(&me, task, TaskState::Open, Some("户主不在家"), at(3))
        .await
        .expect("returns");
    store
        .move_task(&me, task, TaskState::Verifying, None, at(4))
        .await
        .expect("starts again");
    assert!(matches!(
        store
            .move_task(&me, task, TaskState::Decided, None, at(5))
            .await,
        Err(StoreError::InvalidTransition {
            from: "verifying",
            to: "decided"
        })
    ));
    assert!(matches!(
        store
            .move_task(&me, task, TaskState::Closed, None, at(5))
            .await,
        Err(StoreError::InvalidTransition { .. })
    ));
    store
        .record_decision(
            &me,
            task,
            &DecisionInput {
                outcome: "include".to_string(),
                reason: "收入低于低保标准".to_string(),
                package_items: vec!["dibao_payment".to_string()],
            },
            at(6),
        )
        .await
        .expect("decides");
    store
        .move_task(&county, task, TaskState::Closed, Some("已公示"), at(7))
        .await
        .expect("closes");
    assert!(matches!(
        store
            .move_task(&county, task, TaskState::Open, None, at(8))
            .await,
        Err(StoreError::InvalidTransition { from: "closed", .. })
    ));
    assert!(matches!(
        store.assign_task(&county, task, worker.id, at(8)).await,
        Err(StoreError::InvalidTransition { .. })
    ));

    let history = store
        .task_history(&county, task)
        .await
        .expect("history")
        .expect("visible");
    let steps: Vec<_> = history
        .iter()
        .map(|e| (e.action.as_str(), e.from, e.to))
        .collect();
    use TaskState::*;
    assert_eq!(
        steps,
        [
            ("opened", None, Open),
            ("assigned", Some(Open), Open),
            ("moved", Some(Open), Verifying),
            ("moved", Some(Verifying), Open),
            ("moved", Some(Open), Verifying),
            ("decided", Some(Verifying), Decided),
            ("moved", Some(Decided), Closed),
        ]
    );
    assert_eq!(history[2].note.as_ref().map(|n| n.expose()), Some(note));
    assert_eq!(history[2].actor, worker.id);
    assert_eq!(history[2].at, at(2));
    assert_eq!(history[6].actor, reviewer.id);
    assert_eq!(
        (1..=7).collect::<Vec<i64>>(),
        history.iter().map(|e| e.seq).collect::<Vec<_>>()
    );
    // Closed tasks are listed by state.
    assert_eq!(
        store
            .tasks(&county, Some(TaskState::Closed))
            .await
            .expect("tasks")
            .len(),
        1
    );
    assert_eq!(
        store
            .tasks(&county, Some(TaskState::Open))
            .await
            .expect("tasks")
            .len(),
        1
    );
}

pub async fn decisions_are_recorded_with_reasons(db: &TestDb) {
    let store = &db.store;
    load_all(store).await;
    let worker = user(store, "wang.a", &[Role::Caseworker], fixtures::TOWNSHIP_A).await;
    let other = user(store, "li.b", &[Role::Caseworker], fixtures::TOWNSHIP_B).await;
    let approver = user(store, "sun.county", &[Role::Approver], fixtures::COUNTY).await;
    let me = scope(&worker);
    let task = only_task(store, HOUSEHOLD_A).await;
    let decision = DecisionInput {
        outcome: "include".to_string(),
        reason: "家庭人均收入 450 元，低于标准".to_string(),
        package_items: vec!["dibao_payment".to_string(), "home_visit".to_string()],
    };
    // Not before verification starts.
    assert!(matches!(
        store
            .record_decision(&scope(&approver), task, &decision, at(1))
            .await,
        Err(StoreError::InvalidTransition { from: "open", .. })
    ));
    store
        .assign_task(&scope(&approver), task, worker.id, at(1))
        .await
        .expect("assigns");
    store
        .move_task(&me, task, TaskState::Verifying, None, at(2))
        .await
        .expect("starts");
    // Nobody outside the region decides; a decision needs a reason.
    assert!(matches!(
        store
            .record_decision(&scope(&other), task, &decision, at(3))
            .await,
        Err(StoreError::NotFound)
    ));
    let empty = DecisionInput {
        reason: "  ".to_string(),
        ..decision.clone()
    };
    assert!(matches!(
        store.record_decision(&me, task, &empty, at(3)).await,
        Err(StoreError::Invalid(_))
    ));
    let recorded = store
        .record_decision(&me, task, &decision, at(3))
        .await
        .expect("decides");
    assert_eq!(recorded.decided_by, worker.id);
    let stored = store
        .decisions(&scope(&approver), HOUSEHOLD_A)
        .await
        .expect("decisions");
    assert_eq!(stored, vec![recorded]);
    assert_eq!(stored[0].reason.expose(), decision.reason);
    assert_eq!(stored[0].package_items, decision.package_items);
    assert_eq!(stored[0].decided_at, at(3));
    assert_eq!(
        store.task(&me, task).await.expect("task").map(|t| t.state),
        Some(TaskState::Decided)
    );
    assert!(
        store
            .decisions(&scope(&other), HOUSEHOLD_A)
            .await
            .expect("decisions")
            .is_empty()
    );
}

pub async fn users_sessions_and_throttling(db: &TestDb) {
    let store = &db.store;
    let rules = LoginRules::default();
    let admin = user(
        store,
        "admin.county",
        &[Role::Administrator],
        fixtures::COUNTY,
    )
    .await;
    let admin_scope = scope(&admin);
    let worker = store
        .add_user(
            &admin_scope,
            &NewUser {
                username: "wang.a".to_string(),
                roles: vec![Role::Reviewer, Role::Caseworker],
                region_prefix: fixtures::TOWNSHIP_A.to_string(),
                password: PASSWORD.to_string(),
            },
            T0,
        )
        .await
        .expect("adds");
    assert_eq!(worker.roles, [Role::Caseworker, Role::Reviewer]);
    let dup = NewUser {
        username: "wang.a".to_string(),
        roles: vec![Role::Caseworker],
        region_prefix: fixtures::TOWNSHIP_A.to_string(),
        password: PASSWORD.to_string(),
    };
    assert!(matches!(
        store.add_user(&admin_scope, &dup, T0).await,
        Err(StoreError::Conflict(_))
    ));
    let weak = NewUser {
        username: "weak".to_string(),
        password: "short".to_string(),
        ..dup.clone()
    };
    assert!(matches!(
        store.add_user(&admin_scope, &weak, T0).await,
        Err(StoreError::Invalid(_))
    ));
    let elsewhere = NewUser {
        username: "far.away".to_string(),
        region_prefix: "990202".to_string(),
        ..dup.clone()
    };
    assert!(matches!(
        store.add_user(&admin_scope, &elsewhere, T0).await,
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        store.users(&scope(&worker)).await,
        Err(StoreError::Forbidden)
    ));
    let outsider = user(store, "far.admin", &[Role::Administrator], "990202").await;
    let listed = store.users(&admin_scope).await.expect("lists");
    assert_eq!(
        listed
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["admin.county", "wang.a"]
    );
    assert!(matches!(
        store
            .set_user_disabled(&scope(&outsider), "wang.a", true, T0)
            .await,
        Err(StoreError::NotFound)
    ));

    // Login and sessions.
    let LoginOutcome::Success { token, user: who } = store
        .login("wang.a", PASSWORD, &rules, at(1))
        .await
        .expect("logs in")
    else {
        panic!("the right password logs in");
    };
    assert_eq!(who.id, worker.id);
    let session = store
        .session(&SessionToken::from_client(token.expose()), at(2))
        .await
        .expect("session")
        .expect("valid");
    assert_eq!(
        session.scope().expect("scope").region_prefix(),
        fixtures::TOWNSHIP_A
    );
    assert!(
        store
            .session(&token, at(1 + 8))
            .await
            .expect("session")
            .is_none(),
        "expired after 8 hours"
    );
    assert!(
        store
            .session(&SessionToken::generate(), at(2))
            .await
            .expect("session")
            .is_none()
    );

    // Throttling: five failures, then even the right password is refused until the window
    // passes.
    for minute in 0..5 {
        let outcome = store
            .login(
                "wang.a",
                "wrong password!",
                &rules,
                Timestamp(at(2).0 + minute * 60),
            )
            .await
            .expect("attempt");
        assert!(matches!(outcome, LoginOutcome::Denied));
    }
    let blocked = store
        .login("wang.a", PASSWORD, &rules, Timestamp(at(2).0 + 300))
        .await
        .expect("attempt");
    assert!(matches!(blocked, LoginOutcome::Throttled));
    let later = store
        .login("wang.a", PASSWORD, &rules, at(3))
        .await
        .expect("attempt");
    assert!(matches!(later, LoginOutcome::Success { .. }));
    assert!(matches!(
        store.login("nobody", PASSWORD, &rules, at(3)).await,
        Ok(LoginOutcome::Denied)
    ));

    // Disabling ends sessions and refuses logins; logout ends a session.
    let LoginOutcome::Success { token: second, .. } = store
        .login("wang.a", PASSWORD, &rules, at(4))
        .await
        .expect("logs in")
    else {
        panic!("logs in");
    };
    store.logout(&second).await.expect("logs out");
    assert!(
        store
            .session(&second, at(4))
            .await
            .expect("session")
            .is_none()
    );
    let LoginOutcome::Success { token: third, .. } = store
        .login("wang.a", PASSWORD, &rules, at(4))
        .await
        .expect("logs in")
    else {
        panic!("logs in");
    };
    let disabled = store
        .set_user_disabled(&admin_scope, "wang.a", true, T0)
        .await
        .expect("disables");
    assert!(disabled.disabled);
    assert!(
        store
            .session(&third, at(4))
            .await
            .expect("session")
            .is_none()
    );
    assert!(matches!(
        store.login("wang.a", PASSWORD, &rules, at(5)).await,
        Ok(LoginOutcome::Denied)
    ));
    store
        .set_user_disabled(&admin_scope, "wang.a", false, T0)
        .await
        .expect("enables");
    assert!(matches!(
        store.login("wang.a", PASSWORD, &rules, at(5)).await,
        Ok(LoginOutcome::Success { .. })
    ));
    assert!(store.purge_sessions(at(100), 3600).await.expect("purges") > 0);
}

pub async fn population_is_sealed_and_found_by_blind_index(db: &TestDb) {
    let store = &db.store;
    let system = Scope::system();
    let load = store
        .load_population(&system, &fixtures::population())
        .await
        .expect("loads");
    assert_eq!(
        (load.persons, load.households, load.out_of_scope),
        (3, 2, 0)
    );
    let again = store
        .load_population(&system, &fixtures::population())
        .await
        .expect("loads again");
    assert_eq!(again.persons, 3);

    let members = store
        .household_members(&system, HOUSEHOLD_A)
        .await
        .expect("query")
        .expect("known");
    assert_eq!(members.len(), 2);
    assert_eq!(members[0].person_id, fixtures::head_a(), "head first");
    assert_eq!(members[0].name.expose(), fixtures::NAMES[0]);
    assert_eq!(
        members[0].address.as_ref().map(|a| a.expose()),
        Some(fixtures::ADDRESSES[0])
    );
    assert_eq!(members[0].birth_year, 1958);
    assert!(!format!("{:?}", members[0]).contains(fixtures::NAMES[0]));

    // The spouse moves to household B's township: household A shrinks.
    let mut moved = fixtures::population();
    moved[0].household_id = HOUSEHOLD_B.to_string();
    moved[0].region_code = domain::RegionCode::parse("990101002201").expect("region");
    store
        .load_population(&system, &moved[..1])
        .await
        .expect("loads the change");
    let a = store
        .household_members(&system, HOUSEHOLD_A)
        .await
        .expect("query")
        .expect("known");
    assert_eq!(a.len(), 1);
    let spouse = store
        .find_person(&system, &fixtures::spouse_a())
        .await
        .expect("query")
        .expect("found by ID");
    assert_eq!(spouse.household_id, HOUSEHOLD_B);

    // A department account of township A cannot write township B's people.
    let dept = Scope::new(99, &[Role::Department], fixtures::TOWNSHIP_A).expect("scope");
    let load = store
        .load_population(&dept, &fixtures::population())
        .await
        .expect("loads what it may");
    assert_eq!((load.persons, load.out_of_scope), (2, 1));
    let unknown = fixtures::resident_id(1990, 1, 1, 99);
    assert!(
        store
            .find_person(&system, &unknown)
            .await
            .expect("query")
            .is_none()
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The secrets that must never appear at rest, each as raw bytes and as the hex form in
/// which a dump prints binary columns.
fn secrets() -> Vec<(String, Vec<Vec<u8>>)> {
    let mut plain: Vec<String> = [
        fixtures::head_a(),
        fixtures::spouse_a(),
        fixtures::single_b(),
    ]
    .iter()
    .map(|id| id.as_str().to_string())
    .collect();
    plain.extend(fixtures::NAMES.iter().map(|n| n.to_string()));
    plain.extend(fixtures::ADDRESSES.iter().map(|a| a.to_string()));
    plain.push("秘密理由".to_string());
    plain
        .into_iter()
        .map(|s| {
            let forms = vec![s.as_bytes().to_vec(), hex(s.as_bytes()).into_bytes()];
            (s, forms)
        })
        .collect()
}

fn assert_no_secret(label: &str, bytes: &[u8]) {
    for (secret, forms) in secrets() {
        for form in forms {
            assert!(
                !contains(bytes, &form),
                "{label} holds a plaintext personal value ({})",
                privacy::mask::name(&secret)
            );
        }
    }
}

pub async fn no_plaintext_personal_data_at_rest(db: &TestDb) {
    let store = &db.store;
    load_all(store).await;
    let reviewer = user(store, "zhao.county", &[Role::Reviewer], fixtures::COUNTY).await;
    let county = scope(&reviewer);
    let task = only_task(store, HOUSEHOLD_A).await;
    store
        .move_task(
            &county,
            task,
            TaskState::Verifying,
            Some("张小华 秘密理由"),
            at(1),
        )
        .await
        .expect("starts");
    store
        .record_decision(
            &county,
            task,
            &DecisionInput {
                outcome: "include".to_string(),
                reason: "秘密理由".to_string(),
                package_items: vec![],
            },
            at(2),
        )
        .await
        .expect("decides");

    if let Some(dir) = &db.dir {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir.path()).expect("lists") {
            let path = entry.expect("entry").path();
            bytes.extend(std::fs::read(&path).expect("reads"));
        }
        assert!(
            contains(&bytes, HOUSEHOLD_A.as_bytes()),
            "the search sees clear columns"
        );
        assert_no_secret("the SQLite files", &bytes);
        assert!(
            !contains(&bytes, b"standard_fen"),
            "explanations are sealed at rest"
        );
    }
    if let Some(name) = &db.pg_name {
        let dump = std::process::Command::new("pg_dump")
            .args(["-h", "127.0.0.1", "-U", "postgres", "--no-owner", name])
            .output();
        match dump {
            Ok(out) if out.status.success() => {
                assert!(
                    contains(&out.stdout, HOUSEHOLD_A.as_bytes()),
                    "the dump sees clear columns"
                );
                assert_no_secret("the PostgreSQL dump", &out.stdout);
                assert!(
                    !contains(&out.stdout, b"standard_fen"),
                    "explanations are sealed at rest"
                );
            }
            Ok(out) => panic!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) => eprintln!(
                "\n!!!!!!!! pg_dump not found: the PostgreSQL at-rest check is SKIPPED !!!!!!!!\n"
            ),
        }
    }
}

pub async fn keys_rotate_and_reopen(db: &TestDb) {
    let system = Scope::system();
    db.store
        .load_population(&system, &fixtures::population()[..1])
        .await
        .expect("loads");
    let kek = db.kek();
    let mut second = Store::open(&db.url, &kek, Algorithm::Sm4Gcm, T0)
        .await
        .expect("reopens with the same KEK");
    let new_key = second
        .rotate_field_key(&kek, Algorithm::Aes256Gcm, at(1))
        .await
        .expect("rotates");
    assert_eq!(new_key, 3);
    second
        .load_population(&system, &fixtures::population()[1..])
        .await
        .expect("loads with the new key");
    for id in [
        fixtures::spouse_a(),
        fixtures::head_a(),
        fixtures::single_b(),
    ] {
        assert!(
            second
                .find_person(&system, &id)
                .await
                .expect("query")
                .is_some()
        );
    }
    second.close().await;
    // A third opening reads values sealed under both keys.
    let third = Store::open(&db.url, &kek, Algorithm::Sm4Gcm, T0)
        .await
        .expect("reopens");
    let spouse = third
        .find_person(&system, &fixtures::spouse_a())
        .await
        .expect("query")
        .expect("found");
    assert_eq!(spouse.name.expose(), fixtures::NAMES[1]);
    let head = third
        .find_person(&system, &fixtures::head_a())
        .await
        .expect("query")
        .expect("found");
    assert_eq!(head.name.expose(), fixtures::NAMES[0]);
    // Re-sealing moves the one person sealed under the old key to the new key.
    assert_eq!(third.reseal_persons(&system, 10).await.expect("reseals"), 1);
    assert_eq!(third.reseal_persons(&system, 10).await.expect("reseals"), 0);
    let spouse = third
        .find_person(&system, &fixtures::spouse_a())
        .await
        .expect("query")
        .expect("found");
    assert_eq!(spouse.name.expose(), fixtures::NAMES[1]);
    assert_eq!(
        spouse.address.as_ref().map(|a| a.expose()),
        Some(fixtures::ADDRESSES[0])
    );
    third.close().await;
    // Another KEK opens nothing.
    assert!(matches!(
        Store::open(&db.url, &Kek::generate(), Algorithm::Sm4Gcm, T0).await,
        Err(StoreError::Privacy(privacy::PrivacyError::WrongKek(_)))
    ));
}

/// The plan of the region filter on `profiles` (the widest table a dashboard reads).
async fn region_plan(db: &TestDb) -> String {
    use sqlx::{Connection, Row};
    if let Some(dir) = &db.dir {
        let url = format!("sqlite://{}", dir.path().join("jiuzhu.db").display());
        let mut conn = sqlx::sqlite::SqliteConnection::connect(&url)
            .await
            .expect("connects");
        let rows =
            sqlx::query("EXPLAIN QUERY PLAN SELECT * FROM profiles WHERE region_code LIKE $1")
                .bind("990101001%")
                .fetch_all(&mut conn)
                .await
                .expect("explains");
        rows.iter()
            .map(|r| r.try_get::<String, _>("detail").expect("detail"))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        let mut conn = sqlx::postgres::PgConnection::connect(&db.url)
            .await
            .expect("connects");
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut conn)
            .await
            .expect("sets");
        let rows =
            sqlx::query("EXPLAIN SELECT * FROM profiles WHERE region_code LIKE '990101001%'")
                .fetch_all(&mut conn)
                .await
                .expect("explains");
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).expect("plan line"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub async fn region_filters_use_an_index(db: &TestDb) {
    load_all(&db.store).await;
    let plan = region_plan(db).await;
    assert!(
        plan.contains("profiles_region"),
        "plan without the region index:\n{plan}"
    );
}

pub async fn concurrent_loads_of_one_run_store_it_once(db: &TestDb) {
    let store = &db.store;
    let system = Scope::system();
    let rules = TaskRules::default();
    let run = fixtures::run_1();
    let (first, second) = tokio::join!(
        store.load_run(&system, &run, &rules, T0),
        store.load_run(&system, &run, &rules, T0),
    );
    let mut outcomes = [first.expect("first load"), second.expect("second load")];
    outcomes.sort_by_key(|o| matches!(o, RunLoad::AlreadyLoaded));
    assert_eq!(
        outcomes,
        [
            RunLoad::Loaded {
                tasks_opened: 2,
                warnings_on_open_tasks: 0
            },
            RunLoad::AlreadyLoaded
        ]
    );
    assert_eq!(store.tasks(&system, None).await.expect("tasks").len(), 2);
}

/// A run from result files carries its manifest: the ledger entry of its load holds the plain
/// SM3 of the manifest, and the first run of a pack whose digest differs from the previous
/// run's is recorded as a policy change just before it.
pub async fn runs_and_policy_changes_are_in_the_ledger(db: &TestDb) {
    use store::RunProvenance;
    use store::ledger::{Action, DataHash, HashAlgorithm};
    let store = &db.store;
    let system = Scope::system();
    store
        .load_population(&system, &fixtures::population())
        .await
        .expect("population");
    let with = |mut run: store::RunResults, id: &str, digest: &str| {
        run.run_id = id.to_string();
        run.provenance = Some(RunProvenance {
            manifest: format!("{{\"run_id\": \"{id}\", \"pack\": \"{digest}\"}}\n"),
            pack_digest: digest.to_string(),
        });
        run
    };
    let runs = [
        with(fixtures::run_1(), "r1", "pack-one"),
        with(fixtures::run_2(), "r2", "pack-one"),
        with(fixtures::run_2(), "r3", "pack-two"),
    ];
    let mut expected = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        store
            .load_run(&system, run, &TaskRules::default(), at(i as i64))
            .await
            .expect("loads");
        if i != 1 {
            let digest = &run.provenance.as_ref().expect("a provenance").pack_digest;
            expected.push((
                Action::PolicyChange,
                DataHash::of(HashAlgorithm::Sm3, digest.as_bytes()),
            ));
        }
        let manifest = &run.provenance.as_ref().expect("a provenance").manifest;
        expected.push((
            Action::MonitoringRun,
            DataHash::of(HashAlgorithm::Sm3, manifest.as_bytes()),
        ));
    }
    // Loading a run again writes nothing.
    store
        .load_run(&system, &runs[2], &TaskRules::default(), at(9))
        .await
        .expect("loads again");
    let size = store.ledger_size(&system).await.expect("size");
    let entries = store
        .ledger_entries(&system, 0, size)
        .await
        .expect("entries");
    let seen: Vec<(Action, DataHash)> = entries
        .iter()
        .filter(|r| matches!(r.entry.action, Action::PolicyChange | Action::MonitoringRun))
        .map(|r| (r.entry.action, r.entry.data))
        .collect();
    assert_eq!(seen, expected);
}

/// The queue one page at a time, filtered and ordered by the database: most urgent first,
/// totals over all pages, the filter form's choices from the unfiltered queue.
pub async fn the_queue_comes_a_page_at_a_time(db: &TestDb) {
    use store::{TaskQuery, TaskState};
    let store = &db.store;
    let system = Scope::system();
    store
        .load_run(&system, &fixtures::busy_run(120), &TaskRules::default(), T0)
        .await
        .expect("loads");
    let reviewer = user(
        store,
        "qian.review",
        &[Role::Reviewer],
        fixtures::TOWNSHIP_A,
    )
    .await;
    let review = scope(&reviewer);
    let page = |offset: i64| TaskQuery {
        limit: 50,
        offset,
        ..TaskQuery::default()
    };
    let first = store.task_page(&review, &page(0)).await.expect("page 1");
    assert_eq!(first.total, 120);
    assert_eq!(first.tasks.len(), 50);
    // Red tasks fall due first, so 40 red, then orange.
    assert!(first.tasks[..40].iter().all(|t| t.level == Level::Red));
    assert!(first.tasks[40..].iter().all(|t| t.level == Level::Orange));
    assert!(
        first
            .tasks
            .windows(2)
            .all(|w| w[0].due_date <= w[1].due_date)
    );
    let last = store.task_page(&review, &page(100)).await.expect("page 3");
    assert_eq!(last.tasks.len(), 20);
    assert!(last.tasks.iter().all(|t| t.level == Level::Yellow));
    let mut seen: Vec<i64> = Vec::new();
    for offset in [0, 50, 100] {
        seen.extend(
            store
                .task_page(&review, &page(offset))
                .await
                .expect("page")
                .tasks
                .iter()
                .map(|t| t.id),
        );
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 120, "every task on exactly one page");
    assert_eq!(first.townships, vec![fixtures::TOWNSHIP_A.to_string()]);
    assert_eq!(
        first.signals,
        vec!["income_drop".to_string(), "large_medical".to_string()]
    );

    // Filters narrow the total; the choices stay those of the whole queue.
    let orange_medical = TaskQuery {
        level: Some(Level::Orange),
        signal: Some("large_medical".into()),
        ..page(0)
    };
    let found = store
        .task_page(&review, &orange_medical)
        .await
        .expect("filtered");
    assert_eq!(found.total, 20);
    assert!(
        found
            .tasks
            .iter()
            .all(|t| t.level == Level::Orange && t.signal == "large_medical")
    );
    assert_eq!(found.signals.len(), 2);
    // Another township's filter inside the scope finds nothing; a bad one is refused.
    let elsewhere = TaskQuery {
        township: Some(fixtures::TOWNSHIP_B.into()),
        ..page(0)
    };
    assert_eq!(
        store
            .task_page(&review, &elsewhere)
            .await
            .expect("other")
            .total,
        0
    );
    let bad = TaskQuery {
        township: Some("99%".into()),
        ..page(0)
    };
    assert!(matches!(
        store.task_page(&review, &bad).await,
        Err(StoreError::Invalid(_))
    ));
    // Decided tasks leave the queue and are found by their state.
    let decided = TaskQuery {
        state: Some(TaskState::Decided),
        ..page(0)
    };
    assert_eq!(
        store
            .task_page(&review, &decided)
            .await
            .expect("decided")
            .total,
        0
    );
    // A township's caseworker sees only what is assigned to her.
    let caseworker = user(store, "sun.case", &[Role::Caseworker], fixtures::TOWNSHIP_A).await;
    let own = scope(&caseworker);
    assert_eq!(store.task_page(&own, &page(0)).await.expect("own").total, 0);
    // Pages are kept while no task changes; an assignment (by this or any other process: a
    // trigger counts the changes) shows at once on the next request.
    let again = store.task_page(&review, &page(0)).await.expect("again");
    assert_eq!(again, first);
    let urgent = first.tasks[0].id;
    store
        .assign_task(&review, urgent, caseworker.id, T0)
        .await
        .expect("assigns");
    let mine = store.task_page(&own, &page(0)).await.expect("own after");
    assert_eq!(mine.total, 1);
    assert_eq!(mine.tasks[0].id, urgent);
    let now = store.task_page(&review, &page(0)).await.expect("after");
    assert_eq!(now.tasks[0].assignee, Some(caseworker.id));
    assert_ne!(now, first);
}
