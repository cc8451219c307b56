-- A small point-of-sale schema with data, for the sandbox fleet, the tests and the benchmarks.
-- Usage: psql -v ON_ERROR_STOP=1 -v scale=N -d gwi_pos_<slug> -f sandbox/seed.sql
-- scale 1 is about 1,000 orders (~0.5 MB); scale 20 is about 10 MB.
\if :{?scale}
\else
\set scale 1
\endif
SET client_min_messages = warning;

CREATE TABLE "MenuItem" (
    id serial PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents >= 0),
    "what's in it" text,
    active boolean NOT NULL DEFAULT true
);

CREATE TABLE "Employee" (
    id serial PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL,
    hired_on date NOT NULL
);

CREATE TABLE "Order" (
    id bigserial PRIMARY KEY,
    opened_at timestamptz NOT NULL,
    closed_at timestamptz,
    table_no integer,
    employee_id integer REFERENCES "Employee"(id),
    status text NOT NULL,
    total_cents integer NOT NULL DEFAULT 0,
    note text
);

CREATE TABLE "OrderItem" (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES "Order"(id) ON DELETE CASCADE,
    menu_item_id integer NOT NULL REFERENCES "MenuItem"(id),
    quantity integer NOT NULL,
    price_cents integer NOT NULL
);
CREATE INDEX "OrderItem_order_id_idx" ON "OrderItem"(order_id);

CREATE TABLE "Payment" (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES "Order"(id) ON DELETE CASCADE,
    method text NOT NULL,
    amount_cents integer NOT NULL,
    paid_at timestamptz NOT NULL
);

CREATE TABLE "Audit Log" (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text,
    "what's" text
);

INSERT INTO "MenuItem" (name, category, price_cents, "what's in it")
SELECT 'Item ' || i,
       (ARRAY['Starters','Mains','Desserts','Drinks','Sides'])[1 + i % 5],
       200 + (i * 37) % 3000,
       CASE WHEN i % 7 = 0 THEN 'nuts, "dairy", it''s, comma' ELSE NULL END
FROM generate_series(1, 60) AS i;

INSERT INTO "Employee" (name, role, hired_on)
SELECT 'Employee ' || i, (ARRAY['server','bartender','manager','host'])[1 + i % 4], date '2020-01-01' + i * 11
FROM generate_series(1, 25) AS i;

INSERT INTO "Order" (opened_at, closed_at, table_no, employee_id, status, total_cents, note)
SELECT timestamptz '2026-01-01 11:00+00' + i * interval '7 minutes',
       timestamptz '2026-01-01 11:45+00' + i * interval '7 minutes',
       1 + i % 40, 1 + i % 25,
       (ARRAY['closed','closed','closed','void','open'])[1 + i % 5],
       -- the sum of its three items below, computed here so the table holds no dead rows
       (SELECT sum((1 + k % 3) * (200 + ((i + k) * 37) % 3000)) FROM generate_series(1, 3) AS k),
       repeat('note ', i % 20)
FROM generate_series(1, 1000 * :scale) AS i;

INSERT INTO "OrderItem" (order_id, menu_item_id, quantity, price_cents)
SELECT o.id, 1 + (o.id * 7 + k) % 60, 1 + k % 3, 200 + ((o.id + k) * 37) % 3000
FROM "Order" o, generate_series(1, 3) AS k;

INSERT INTO "Payment" (order_id, method, amount_cents, paid_at)
SELECT id, (ARRAY['card','cash','gift'])[1 + id % 3], total_cents, closed_at
FROM "Order" WHERE status = 'closed';

INSERT INTO "Audit Log" (at, actor, "what's")
SELECT timestamptz '2026-01-01 00:00+00' + i * interval '1 hour', 'Employee ' || (1 + i % 25), 'changed price, said "ok"'
FROM generate_series(1, 50 * :scale) AS i;

ANALYZE;
