// A throwaway PostgreSQL 15 cluster for the tests of one test binary (issue
// #17): initdb in a temporary folder, trust authentication on a Unix socket in
// that folder and no TCP at all, started on first use and stopped with the
// binary (a gtest Environment runs `pg_ctl stop -m fast`). Each test gets a
// database of its own. When the tests run as root, initdb and pg_ctl run as
// the `postgres` user, which owns the folder.
//
// No PostgreSQL binaries means a failed test naming scripts/install-deps,
// never a skip: a suite that silently tests one engine is not a pass. The
// binaries are found in $SUNLEDGER_PG_BINDIR when set, else in
// `pg_config --bindir`, else in /usr/lib/postgresql/15/bin.
#pragma once

#include <string>

namespace sunledger::testing {

// A fresh, empty database on this binary's cluster (CREATE DATABASE t_<n>),
// as a libpq connection string; starts the cluster the first time. On
// failure: an ADD_FAILURE explaining why, and "" (callers ASSERT on it).
std::string pg_fresh_database();

// A connection string of pg_fresh_database as the postgresql:// address a
// deployment passes to the ledger ("" for "").
std::string pg_uri(const std::string& conninfo);

// A copy of the database at uri (a pg_uri), as a second deployment restored
// from the same backup would hold: CREATE DATABASE … TEMPLATE, so no
// connection to it may be open. Its address, or "" after an ADD_FAILURE.
std::string pg_copy_of(const std::string& uri);

// The connection string of the cluster's `postgres` database ("" before it
// started), for statements no test database can run (pg_terminate_backend
// of another connection needs no more than this).
std::string pg_admin_conninfo();

// How long initdb and the start took, in milliseconds (0 before).
double pg_cluster_start_ms();

}  // namespace sunledger::testing
