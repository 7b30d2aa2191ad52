--  pg-roles-db.sql - the grants in one service's database (included by pg-roles.sql)
--  Variables: db (the database), role (the service's role).
\set ON_ERROR_STOP on

--  Nobody connects by default (PUBLIC has CONNECT and TEMPORARY on a new
--  database): only the service and the reader
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"role", ck_reader;

\connect :"db"
SET client_min_messages = warning;
--  The service creates its tables, views and sequences in public and owns
--  them; nobody else may create there (PostgreSQL 15's default, said again
--  for servers upgraded from older versions)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO :"role";
GRANT USAGE ON SCHEMA public TO ck_reader;

--  Tables made before the roles existed (by an administrator's URI) pass to
--  the service; their identity sequences follow their table
SELECT format ('ALTER %s public.%I OWNER TO %I',
               CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, c.relname, :'role')
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
   AND c.relowner <> :'role'::regrole \gexec

\connect postgres
