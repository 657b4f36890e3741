-- One database per node; the hub's is created by POSTGRES_DB.
CREATE DATABASE ema OWNER registry;
CREATE DATABASE bfarm OWNER registry;
