//! The store's story tests, run against both backends: SQLite in a temporary file and
//! PostgreSQL at 127.0.0.1:5432 (a fresh database per test, dropped afterwards). When
//! PostgreSQL cannot be reached, its tests say so loudly and pass without running.

mod backend;
mod fixtures;
mod story;

/// Generates one test per story function and backend.
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    let db = crate::backend::TestDb::sqlite().await;
                    crate::backend::run_story(db, |db| Box::pin(crate::story::$story(db))).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    let Some(db) = crate::backend::TestDb::postgres().await else {
                        return;
                    };
                    crate::backend::run_story(db, |db| Box::pin(crate::story::$story(db))).await;
                }
            )+
        }
    };
}

on_both_backends!(
    run_load_is_idempotent_and_keeps_history,
    scoping_hides_other_townships,
    task_states_and_history,
    decisions_are_recorded_with_reasons,
    users_sessions_and_throttling,
    population_is_sealed_and_found_by_blind_index,
    no_plaintext_personal_data_at_rest,
    keys_rotate_and_reopen,
    region_filters_use_an_index,
    concurrent_loads_of_one_run_store_it_once,
    runs_and_policy_changes_are_in_the_ledger,
    the_queue_comes_a_page_at_a_time,
);
