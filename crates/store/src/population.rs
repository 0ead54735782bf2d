//! Persons and households from the population feed (exchange.md §2): personal fields sealed,
//! looked up by blind index, scoped by region.

use crate::scope::{CASEWORK, Role};
use crate::{Result, Scope, Store, StoreError};
use domain::{Date, Gender, PersonStatus, RegionCode, Relation, ResidentId};
use privacy::{BlindIndex, Revealed};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeSet;
use std::fmt;

/// One row of the population feed, parsed.
#[derive(Clone)]
pub struct PopulationRow {
    /// The person's resident ID.
    pub person_id: ResidentId,
    /// Name (personal data).
    pub name: String,
    /// Gender.
    pub gender: Gender,
    /// Household number (户号).
    pub household_id: String,
    /// Relation to the head of household.
    pub relation: Relation,
    /// Where the household lives.
    pub region_code: RegionCode,
    /// Address (personal data).
    pub address: Option<String>,
    /// Status in the registry.
    pub status: PersonStatus,
    /// Date of the last status change.
    pub status_date: Option<Date>,
    /// The registry's link to the spouse.
    pub spouse_id: Option<ResidentId>,
    /// The registry's link to the father.
    pub father_id: Option<ResidentId>,
    /// The registry's link to the mother.
    pub mother_id: Option<ResidentId>,
}

impl fmt::Debug for PopulationRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PopulationRow")
            .field("person_id", &self.person_id)
            .field("name", &privacy::mask::name(&self.name))
            .field("household_id", &self.household_id)
            .field("region_code", &self.region_code)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// What loading population rows did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PopulationLoad {
    /// Persons written (inserted or replaced).
    pub persons: u64,
    /// Households whose membership was recomputed.
    pub households: u64,
    /// Rows refused because their region lies outside the scope.
    pub out_of_scope: u64,
}

/// A person as stored, with personal fields opened.
#[derive(Debug, Clone)]
pub struct Person {
    /// Resident ID (masks itself when printed).
    pub person_id: ResidentId,
    /// Name.
    pub name: Revealed,
    /// Address.
    pub address: Option<Revealed>,
    /// Household number.
    pub household_id: String,
    /// Region.
    pub region_code: RegionCode,
    /// Relation to the head of household.
    pub relation: Relation,
    /// Gender.
    pub gender: Gender,
    /// Year of birth.
    pub birth_year: i32,
    /// Registry status.
    pub status: PersonStatus,
}

/// The record key that binds a person's sealed fields to their row.
pub(crate) fn person_record(index: &BlindIndex) -> String {
    let mut out = String::from("person:");
    for b in index.as_bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

macro_rules! person_columns {
    () => {
        "id_index, id_sealed, name_sealed, address_sealed, household_id, \
     region_code, relation, gender, birth_year, status"
    };
}

impl Store {
    /// Writes population rows (a full snapshot or a part of one): each person is inserted or
    /// replaced, keyed by the blind index of their ID, and the households they left or joined
    /// are recomputed (members = persons with status `normal`). Rows outside the scope's region
    /// are refused and counted. Needs the administrator or department role. Atomic.
    pub async fn load_population(
        &self,
        scope: &Scope,
        rows: &[PopulationRow],
    ) -> Result<PopulationLoad> {
        scope.require(&[Role::Administrator, Role::Department])?;
        self.catch_up_keys().await?;
        let mut load = PopulationLoad::default();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut tx = self.begin_write().await?;
        for row in rows {
            if !scope.covers(row.region_code.as_str()) {
                load.out_of_scope += 1;
                continue;
            }
            let index = self.keys().blind_id(&row.person_id);
            let record = person_record(&index);
            let previous: Option<String> =
                sqlx::query_scalar("SELECT household_id FROM persons WHERE id_index = $1")
                    .bind(index.as_bytes().to_vec())
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(previous) = previous {
                touched.insert(previous);
            }
            touched.insert(row.household_id.clone());
            let link = |id: &Option<ResidentId>| id.map(|i| self.keys().blind_id(&i).0.to_vec());
            sqlx::query(
                "INSERT INTO persons (id_index, id_sealed, name_sealed, address_sealed,
                     household_id, region_code, relation, gender, birth_year, status,
                     status_date, spouse_index, father_index, mother_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (id_index) DO UPDATE SET
                     id_sealed = excluded.id_sealed, name_sealed = excluded.name_sealed,
                     address_sealed = excluded.address_sealed,
                     household_id = excluded.household_id, region_code = excluded.region_code,
                     relation = excluded.relation, gender = excluded.gender,
                     birth_year = excluded.birth_year, status = excluded.status,
                     status_date = excluded.status_date, spouse_index = excluded.spouse_index,
                     father_index = excluded.father_index, mother_index = excluded.mother_index",
            )
            .bind(index.as_bytes().to_vec())
            .bind(
                self.keys()
                    .seal("person_id", &record, row.person_id.as_str()),
            )
            .bind(self.keys().seal("name", &record, &row.name))
            .bind(
                row.address
                    .as_deref()
                    .map(|a| self.keys().seal("address", &record, a)),
            )
            .bind(row.household_id.clone())
            .bind(row.region_code.as_str().to_string())
            .bind(row.relation.as_str())
            .bind(row.gender.as_str())
            .bind(i64::from(row.person_id.birth_date().year()))
            .bind(row.status.as_str())
            .bind(row.status_date.map(|d| d.to_string()))
            .bind(link(&row.spouse_id))
            .bind(link(&row.father_id))
            .bind(link(&row.mother_id))
            .execute(&mut *tx)
            .await?;
            load.persons += 1;
        }
        for household in &touched {
            sqlx::query("DELETE FROM households WHERE household_id = $1")
                .bind(household.clone())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO households (household_id, region_code, members)
                 SELECT household_id, MIN(region_code), COUNT(*) FROM persons
                 WHERE household_id = $1 AND status = 'normal' GROUP BY household_id",
            )
            .bind(household.clone())
            .execute(&mut *tx)
            .await?;
            load.households += 1;
        }
        tx.commit().await?;
        self.refresh_statistics(&["persons", "households"]).await?;
        Ok(load)
    }

    /// Finds a person by resident ID within the scope (exact look-up by blind index). `None`
    /// when the person is unknown or lives outside the scope. Needs a casework role; the
    /// caller records the read in the audit ledger.
    pub async fn find_person(&self, scope: &Scope, id: &ResidentId) -> Result<Option<Person>> {
        self.with_current_keys(|| self.find_person_now(scope, id))
            .await
    }

    async fn find_person_now(&self, scope: &Scope, id: &ResidentId) -> Result<Option<Person>> {
        scope.require(CASEWORK)?;
        let index = self.keys().blind_id(id);
        let row = sqlx::query(concat!(
            "SELECT ",
            person_columns!(),
            " FROM persons WHERE id_index = $1 AND region_code LIKE $2"
        ))
        .bind(index.as_bytes().to_vec())
        .bind(scope.pattern())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| self.person_from_row(&r)).transpose()
    }

    /// The living members of a household within the scope, head first; `None` when the
    /// household is unknown or outside the scope. Needs a casework role.
    pub async fn household_members(
        &self,
        scope: &Scope,
        household_id: &str,
    ) -> Result<Option<Vec<Person>>> {
        self.with_current_keys(|| self.household_members_now(scope, household_id))
            .await
    }

    async fn household_members_now(
        &self,
        scope: &Scope,
        household_id: &str,
    ) -> Result<Option<Vec<Person>>> {
        scope.require(CASEWORK)?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            person_columns!(),
            " FROM persons
             WHERE household_id = $1 AND region_code LIKE $2 AND status = 'normal'
             ORDER BY CASE relation WHEN 'head' THEN 0 ELSE 1 END, birth_year"
        ))
        .bind(household_id.to_string())
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.iter()
            .map(|r| self.person_from_row(r))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// After a field-key rotation, re-seals with the active key the personal fields of up to
    /// `limit` persons in the scope that still carry a value sealed by an older key; returns
    /// how many were rewritten. Call until it returns 0; reads and writes go on meanwhile,
    /// since older keys keep opening older values. Needs the administrator role.
    pub async fn reseal_persons(&self, scope: &Scope, limit: u64) -> Result<u64> {
        scope.require(&[Role::Administrator])?;
        let rows = sqlx::query(
            "SELECT id_index, id_sealed, name_sealed, address_sealed FROM persons
             WHERE region_code LIKE $1",
        )
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        let mut done = 0;
        let mut tx = self.begin_write().await?;
        for row in &rows {
            if done >= limit {
                break;
            }
            let index: Vec<u8> = row.try_get("id_index")?;
            let id_sealed: Vec<u8> = row.try_get("id_sealed")?;
            let name_sealed: Vec<u8> = row.try_get("name_sealed")?;
            let address_sealed: Option<Vec<u8>> = row.try_get("address_sealed")?;
            let stale = self.keys().is_stale(&id_sealed)
                || self.keys().is_stale(&name_sealed)
                || address_sealed
                    .as_ref()
                    .is_some_and(|a| self.keys().is_stale(a));
            if !stale {
                continue;
            }
            let blind = BlindIndex(
                index
                    .clone()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("person index"))?,
            );
            let record = person_record(&blind);
            let reseal = |field: &str, sealed: &[u8]| -> Result<Vec<u8>> {
                let plain = self.keys().open_text(field, &record, sealed)?;
                Ok(self.keys().seal(field, &record, plain.expose()))
            };
            sqlx::query(
                "UPDATE persons SET id_sealed = $1, name_sealed = $2, address_sealed = $3
                 WHERE id_index = $4 AND id_sealed = $5",
            )
            .bind(reseal("person_id", &id_sealed)?)
            .bind(reseal("name", &name_sealed)?)
            .bind(
                address_sealed
                    .as_deref()
                    .map(|a| reseal("address", a))
                    .transpose()?,
            )
            .bind(index)
            .bind(id_sealed.clone())
            .execute(&mut *tx)
            .await?;
            done += 1;
        }
        tx.commit().await?;
        Ok(done)
    }

    fn person_from_row(&self, row: &AnyRow) -> Result<Person> {
        let index: Vec<u8> = row.try_get("id_index")?;
        let index = BlindIndex(
            index
                .try_into()
                .map_err(|_| StoreError::Corrupt("person index"))?,
        );
        let record = person_record(&index);
        let id_sealed: Vec<u8> = row.try_get("id_sealed")?;
        let name_sealed: Vec<u8> = row.try_get("name_sealed")?;
        let address_sealed: Option<Vec<u8>> = row.try_get("address_sealed")?;
        let id_text = self.keys().open_text("person_id", &record, &id_sealed)?;
        let person_id =
            ResidentId::parse(id_text.expose()).map_err(|_| StoreError::Corrupt("person id"))?;
        let region: String = row.try_get("region_code")?;
        let relation: String = row.try_get("relation")?;
        let gender: String = row.try_get("gender")?;
        let status: String = row.try_get("status")?;
        let birth_year: i64 = row.try_get("birth_year")?;
        Ok(Person {
            person_id,
            name: self.keys().open_text("name", &record, &name_sealed)?,
            address: address_sealed
                .map(|a| self.keys().open_text("address", &record, &a))
                .transpose()?,
            household_id: row.try_get("household_id")?,
            region_code: RegionCode::parse(&region).map_err(|_| StoreError::Corrupt("region"))?,
            relation: Relation::parse(&relation).ok_or(StoreError::Corrupt("relation"))?,
            gender: Gender::parse(&gender).ok_or(StoreError::Corrupt("gender"))?,
            birth_year: i32::try_from(birth_year).map_err(|_| StoreError::Corrupt("birth year"))?,
            status: PersonStatus::parse(&status).ok_or(StoreError::Corrupt("status"))?,
        })
    }
}
