-- One database per Tally service, each owned by its own role (a service never reads another's tables).
-- Runs once, when the data directory is first initialised. Passwords match dev-credentials/*.env.
CREATE ROLE ingestion LOGIN PASSWORD 'dev-ingestion';
CREATE DATABASE ingestion OWNER ingestion;
CREATE ROLE metering LOGIN PASSWORD 'dev-metering';
CREATE DATABASE metering OWNER metering;
CREATE ROLE catalog LOGIN PASSWORD 'dev-catalog';
CREATE DATABASE catalog OWNER catalog;
CREATE ROLE quoting LOGIN PASSWORD 'dev-quoting';
CREATE DATABASE quoting OWNER quoting;
CREATE ROLE invoicing LOGIN PASSWORD 'dev-invoicing';
CREATE DATABASE invoicing OWNER invoicing;
CREATE ROLE erp_sync LOGIN PASSWORD 'dev-erp-sync';
CREATE DATABASE erp_sync OWNER erp_sync;
CREATE ROLE gateway LOGIN PASSWORD 'dev-gateway';
CREATE DATABASE gateway OWNER gateway;
CREATE ROLE insights LOGIN PASSWORD 'dev-insights';
CREATE DATABASE insights OWNER insights;
