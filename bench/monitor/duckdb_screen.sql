-- The core of the screening in DuckDB SQL over the same lake Parquet, for the benchmark only:
-- person facts (income, money, assets, disability, obligors), tekun persons and amounts, the
-- household tier and dibao amount, and the dibao/tekun anomalies, written as CSV files as the
-- run writes its own. GEN parameter set (prefix 99: std 1000 urban / 800 rural); as-of
-- 2026-06-30. ${LAKE} is replaced by the lake folder, ${OUT} by a folder for the results.
SET VARIABLE a = DATE '2026-06-30';
SET VARIABLE m0 = DATE '2026-06-01';
SET VARIABLE lb = DATE '2025-07-01';

CREATE OR REPLACE TEMP TABLE pop AS
  SELECT * FROM read_parquet('${LAKE}/batches/*/population/*.parquet');
CREATE OR REPLACE TEMP TABLE emp AS
  SELECT person_id, arg_max(status, period) AS status,
         arg_max(coalesce(monthly_wage,0)+coalesce(pension,0)+coalesce(unemployment_benefit,0), period) AS earned
  FROM read_parquet('${LAKE}/batches/*/employment/*.parquet')
  WHERE person_id IS NOT NULL AND period BETWEEN getvariable('lb') AND getvariable('m0')
  GROUP BY person_id;
CREATE OR REPLACE TEMP TABLE inc AS
  SELECT person_id, sum(amount) AS declared FROM (
    SELECT person_id, kind, arg_max(monthly_amount, period) AS amount
    FROM read_parquet('${LAKE}/batches/*/income/*.parquet')
    WHERE person_id IS NOT NULL AND kind <> 'exempt' AND period BETWEEN getvariable('lb') AND getvariable('m0')
    GROUP BY person_id, kind) GROUP BY person_id;
CREATE OR REPLACE TEMP TABLE fin AS
  SELECT person_id, arg_max(deposits+coalesce(securities,0)+coalesce(other_assets,0), as_of) AS money
  FROM read_parquet('${LAKE}/batches/*/finance/*.parquet')
  WHERE person_id IS NOT NULL AND as_of <= getvariable('a') GROUP BY person_id;
CREATE OR REPLACE TEMP TABLE bus AS
  SELECT person_id,
         sum(CASE WHEN coalesce(registered_capital,0) <= 10000000 THEN coalesce(registered_capital,0) ELSE 0 END) AS capital,
         bool_or(coalesce(registered_capital,0) > 10000000) AS big
  FROM read_parquet('${LAKE}/batches/*/business/*.parquet')
  WHERE person_id IS NOT NULL AND status = 'active' AND registered_date <= getvariable('a') GROUP BY person_id;
CREATE OR REPLACE TEMP TABLE dis AS
  SELECT person_id, arg_min(CAST(grade AS INT), CAST(grade AS INT)) AS grade,
         arg_min(category, CAST(grade AS INT)) AS category
  FROM read_parquet('${LAKE}/batches/*/disability/*.parquet')
  WHERE person_id IS NOT NULL AND certified_date <= getvariable('a') GROUP BY person_id;
CREATE OR REPLACE TEMP TABLE veh AS
  SELECT DISTINCT person_id FROM read_parquet('${LAKE}/batches/*/vehicles/*.parquet')
  WHERE person_id IS NOT NULL AND registered_date <= getvariable('a')
    AND (cancelled_date IS NULL OR cancelled_date > getvariable('a'))
    AND vehicle_type NOT IN ('disability', 'agricultural');
CREATE OR REPLACE TEMP TABLE est AS
  SELECT person_id, property_id, usage, area_m2 FROM read_parquet('${LAKE}/batches/*/real_estate/*.parquet')
  WHERE person_id IS NOT NULL AND registered_date <= getvariable('a')
    AND (cancelled_date IS NULL OR cancelled_date > getvariable('a'));
CREATE OR REPLACE TEMP TABLE care AS
  SELECT person_id, arg_max(self_care, assessed_date) AS self_care
  FROM read_parquet('${LAKE}/batches/*/care/*.parquet')
  WHERE person_id IS NOT NULL AND assessed_date <= getvariable('a') GROUP BY person_id;
CREATE OR REPLACE TEMP TABLE spells AS
  SELECT person_id, household_id, program FROM read_parquet('${LAKE}/batches/*/assistance/*.parquet')
  WHERE person_id IS NOT NULL AND start_date <= getvariable('a')
    AND (end_date IS NULL OR end_date >= getvariable('a'));

CREATE OR REPLACE TEMP TABLE p AS
  SELECT pop.person_id, pop.household_id, pop.region_code, pop.spouse_id, pop.father_id, pop.mother_id,
         date_sub('year', pop.birth_date, getvariable('a')) AS age,
         coalesce(emp.earned,0) + coalesce(inc.declared,0) AS income,
         coalesce(fin.money,0) + coalesce(bus.capital,0) AS money,
         coalesce(bus.big,false) AS big_business,
         veh.person_id IS NOT NULL AS vehicle,
         EXISTS (SELECT 1 FROM est WHERE est.person_id = pop.person_id AND est.usage <> 'residential') AS nonres,
         dis.grade, dis.category,
         CASE coalesce(care.self_care,'full') WHEN 'full' THEN 0.2 WHEN 'partial' THEN 0.4 ELSE 0.6 END AS care_share,
         CASE WHEN CAST(right(pop.region_code,3) AS INT) BETWEEN 200 AND 399 THEN 80000 ELSE 100000 END AS std
  FROM pop
  LEFT JOIN emp USING (person_id) LEFT JOIN inc USING (person_id) LEFT JOIN fin USING (person_id)
  LEFT JOIN bus USING (person_id) LEFT JOIN dis USING (person_id) LEFT JOIN veh USING (person_id)
  LEFT JOIN care USING (person_id)
  WHERE pop.status = 'normal' AND pop.region_code LIKE '99%';

CREATE OR REPLACE TEMP TABLE p2 AS
  SELECT *,
    (grade IN (1,2) OR (grade = 3 AND category IN ('intellectual','mental'))) AS severe,
    (age >= 60 OR age < 16 OR (category IN ('intellectual','mental') AND grade <= 3)
       OR (category = 'physical' AND grade <= 2) OR (category = 'visual' AND grade = 1)
       OR (category = 'multiple' AND grade <= 2)) AS no_work
  FROM p;

-- Obligors: spouse (either side), parents, children; unable when young, old and poor, or severe and poor.
CREATE OR REPLACE TEMP TABLE edges AS
  SELECT person_id AS x, spouse_id AS o FROM p2 WHERE spouse_id IS NOT NULL
  UNION SELECT spouse_id, person_id FROM p2 WHERE spouse_id IS NOT NULL
  UNION SELECT person_id, father_id FROM p2 WHERE father_id IS NOT NULL
  UNION SELECT person_id, mother_id FROM p2 WHERE mother_id IS NOT NULL
  UNION SELECT father_id, person_id FROM p2 WHERE father_id IS NOT NULL
  UNION SELECT mother_id, person_id FROM p2 WHERE mother_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE able AS
  SELECT DISTINCT e.x FROM edges e JOIN p2 o ON o.person_id = e.o
  LEFT JOIN spells s ON s.person_id = o.person_id AND s.program = 'tekun'
  WHERE NOT (o.age < 18 OR s.person_id IS NOT NULL OR (o.age >= 70 AND o.income < 400000)
             OR (o.severe AND o.income < 400000));

CREATE OR REPLACE TEMP TABLE hh AS
  SELECT household_id, min(std) AS std, count(*) AS n, sum(money) AS money,
         bool_or(vehicle OR nonres OR big_business) AS other_assets
  FROM p2 GROUP BY household_id;
CREATE OR REPLACE TEMP TABLE tekun AS
  SELECT p2.person_id, p2.household_id,
         round(1.3 * hh.std + p2.care_share * 200000) AS amount
  FROM p2 JOIN hh USING (household_id)
  WHERE p2.no_work AND p2.income < hh.std AND NOT hh.other_assets AND hh.money <= 24 * hh.std * hh.n
    AND p2.person_id NOT IN (SELECT x FROM able);
CREATE OR REPLACE TEMP TABLE h2 AS
  SELECT p2.household_id, min(p2.std) AS std, count(*) AS n, sum(p2.income) AS income,
         sum(p2.money) AS money, bool_or(p2.vehicle OR p2.nonres OR p2.big_business) AS other_assets
  FROM p2 WHERE p2.person_id NOT IN (SELECT person_id FROM tekun) GROUP BY p2.household_id;
CREATE OR REPLACE TEMP TABLE tiers AS
  SELECT hh.household_id,
    CASE WHEN h2.n IS NULL THEN 'tekun'
         WHEN h2.income < h2.std * h2.n AND NOT h2.other_assets AND h2.money <= 24 * h2.std * h2.n THEN 'dibao'
         WHEN h2.income < 1.5 * h2.std * h2.n AND NOT h2.other_assets AND h2.money <= 36 * h2.std * h2.n THEN 'marginal'
         ELSE 'none' END AS tier,
    CASE WHEN h2.income < h2.std * h2.n AND NOT h2.other_assets AND h2.money <= 24 * h2.std * h2.n
         THEN h2.std * h2.n - h2.income ELSE 0 END AS dibao_amount
  FROM hh LEFT JOIN h2 USING (household_id);
CREATE OR REPLACE TEMP TABLE anomalies AS
  SELECT 'wrong_inclusion' AS kind, 'dibao' AS program, t.household_id FROM tiers t
    WHERE t.tier <> 'dibao' AND EXISTS (SELECT 1 FROM spells s WHERE s.household_id = t.household_id AND s.program = 'dibao')
  UNION ALL
  SELECT 'omission', 'dibao', t.household_id FROM tiers t
    WHERE t.tier = 'dibao' AND NOT EXISTS (SELECT 1 FROM spells s JOIN p2 USING (person_id) WHERE p2.household_id = t.household_id AND s.program = 'dibao')
  UNION ALL
  SELECT 'omission', 'tekun', k.household_id FROM tekun k
    WHERE NOT EXISTS (SELECT 1 FROM spells s WHERE s.person_id = k.person_id AND s.program = 'tekun')
  UNION ALL
  SELECT 'duplicate', program, any_value(household_id) FROM spells WHERE program IN ('dibao','tekun','marginal')
    GROUP BY person_id, program HAVING count(*) > 1;

SELECT tier, count(*) AS households, sum(dibao_amount) AS dibao_fen FROM tiers GROUP BY tier ORDER BY tier;
SELECT count(*) AS tekun_persons, sum(amount) AS tekun_fen FROM tekun;
SELECT kind, program, count(*) AS n FROM anomalies GROUP BY ALL ORDER BY ALL;

-- The results as files, each in the order of its keys, as the run writes its own.
COPY (SELECT household_id, tier, dibao_amount FROM tiers ORDER BY household_id)
  TO '${OUT}/households.csv' (HEADER);
COPY (SELECT person_id, household_id, amount FROM tekun ORDER BY household_id, person_id)
  TO '${OUT}/persons.csv' (HEADER);
COPY (SELECT * FROM anomalies ORDER BY household_id, kind, program)
  TO '${OUT}/anomalies.csv' (HEADER);
