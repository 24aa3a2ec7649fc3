-- The operational orders table FastCart's CDC reads (docs/SPEC.md §10), set up for Debezium's
-- PostgreSQL connector (pgoutput): a publication of exactly this table, full before-images on
-- update and delete, and a login role with REPLICATION that may read this table and nothing
-- else. Run by the postgres image's entrypoint as POSTGRES_USER in POSTGRES_DB; the role's
-- password is read from the environment by psql (\getenv), never written here.
\set ON_ERROR_STOP on

CREATE TABLE public.orders (
    order_id       text PRIMARY KEY,
    customer_id    text NOT NULL,
    customer_email text,
    product_id     text NOT NULL,
    quantity       integer NOT NULL,
    total          numeric(12, 2) NOT NULL,
    payment_method text,
    status         text NOT NULL,
    shipping_state text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
ALTER TABLE public.orders REPLICA IDENTITY FULL;

CREATE PUBLICATION fastcart_orders FOR TABLE public.orders;

\getenv debezium_password DEBEZIUM_DB_PASSWORD
\if :{?debezium_password}
\else
  \set debezium_password ''
\endif
SELECT :'debezium_password' = '' AS missing_password \gset
\if :missing_password
  DO $$ BEGIN RAISE EXCEPTION 'set DEBEZIUM_DB_PASSWORD for the debezium role'; END $$;
\endif
CREATE ROLE debezium WITH LOGIN REPLICATION PASSWORD :'debezium_password';
SELECT format('GRANT CONNECT ON DATABASE %I TO debezium', current_database()) \gexec
GRANT USAGE ON SCHEMA public TO debezium;
GRANT SELECT ON public.orders TO debezium;
