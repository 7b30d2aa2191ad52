--  pg-roles.sql - one login role per service and a read-only reader, least privilege
--  Each service's role reaches its own database only, and creates its tables there.
--
--  Run as a superuser (or a role with CREATEROLE and CREATEDB), on any
--  PostgreSQL 15 server; safe to run again:
--      psql -X -v ON_ERROR_STOP=1 -d postgres -f scripts/pg-roles.sql
--  Passwords are not set here: `\password ck_inventory` in psql (which sends
--  only the scram-sha-256 verifier), or `scripts/pg roles DIR` on a
--  throwaway cluster.  The databases belong to the role running this file.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

--  Login roles with no power beyond what is granted below
SELECT format ('CREATE ROLE %I LOGIN', name)
  FROM unnest (ARRAY ['ck_inventory', 'ck_payment', 'ck_order', 'ck_coordinator',
                      'ck_reader']) AS name
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) \gexec
SELECT format ('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION'
               ' NOBYPASSRLS', name)
  FROM unnest (ARRAY ['ck_inventory', 'ck_payment', 'ck_order', 'ck_coordinator',
                      'ck_reader']) AS name \gexec

--  The reader: SELECT on every table of every database it may connect to
--  (pg_read_all_data covers tables created later too), and read-only
--  sessions so that even a grant made by mistake writes nothing
GRANT pg_read_all_data TO ck_reader;
ALTER ROLE ck_reader SET default_transaction_read_only = on;

--  One database per service
SELECT format ('CREATE DATABASE %I', name)
  FROM unnest (ARRAY ['inventory', 'payment', 'order', 'coordinator']) AS name
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = name) \gexec

\set db inventory
\set role ck_inventory
\ir pg-roles-db.sql
\set db payment
\set role ck_payment
\ir pg-roles-db.sql
\set db order
\set role ck_order
\ir pg-roles-db.sql
\set db coordinator
\set role ck_coordinator
\ir pg-roles-db.sql
