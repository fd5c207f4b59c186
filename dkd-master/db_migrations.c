/*
 * Copyright (c) 2026 The DeployKit Authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

#include <stddef.h>

#include "db.h"

/*
 * Schema migrations, applied in order, each in its own transaction and
 * recorded by name in _migrations.  Never edit a migration that has
 * shipped; add a new one.  The schema version is the number applied.
 */

#define NOW	"(datetime('now'))"

static const char m0001_initial[] =
"CREATE TABLE projects ("
"  id TEXT PRIMARY KEY,"
"  name TEXT NOT NULL,"
"  slug TEXT NOT NULL DEFAULT '',"
"  created_at TEXT NOT NULL DEFAULT " NOW ","
"  updated_at TEXT NOT NULL DEFAULT " NOW ");"
"CREATE UNIQUE INDEX idx_projects_slug ON projects(slug);"

"CREATE TABLE users ("
"  id TEXT PRIMARY KEY,"
"  email TEXT NOT NULL UNIQUE,"
"  name TEXT NOT NULL,"
"  password_hash TEXT NOT NULL,"
"  role TEXT NOT NULL DEFAULT 'member',"
"  created_at TEXT NOT NULL DEFAULT " NOW ","
"  updated_at TEXT NOT NULL DEFAULT " NOW ");"

"CREATE TABLE sessions ("
"  id TEXT PRIMARY KEY,"
"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  access_token_hash TEXT NOT NULL UNIQUE,"
"  refresh_token_hash TEXT NOT NULL UNIQUE,"
"  expires_at TEXT NOT NULL,"
"  refresh_expires_at TEXT NOT NULL,"
"  created_at TEXT NOT NULL DEFAULT " NOW ");"
"CREATE INDEX idx_sessions_user_id ON sessions(user_id);"

"CREATE TABLE api_keys ("
"  id TEXT PRIMARY KEY,"
"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  description TEXT NOT NULL,"
"  prefix TEXT NOT NULL,"
"  token_hash TEXT NOT NULL UNIQUE,"
"  expires_at TEXT,"
"  last_used_at TEXT,"
"  created_at TEXT NOT NULL DEFAULT " NOW ");"
"CREATE INDEX idx_api_keys_user_id ON api_keys(user_id);"

"CREATE TABLE services ("
"  id TEXT PRIMARY KEY,"
"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  name TEXT NOT NULL,"
"  status TEXT NOT NULL DEFAULT 'created',"
"  active_deployment_id TEXT,"
"  icon_url TEXT,"
"  created_at TEXT NOT NULL DEFAULT " NOW ","
"  updated_at TEXT NOT NULL DEFAULT " NOW ","
"  UNIQUE (project_id, name));"
"CREATE INDEX idx_services_project_id ON services(project_id);"

"CREATE TABLE deployments ("
"  id TEXT PRIMARY KEY,"
"  service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,"
"  image TEXT NOT NULL,"
"  env_vars TEXT NOT NULL DEFAULT '{}',"
"  ports TEXT NOT NULL DEFAULT '[]',"
"  resources TEXT,"
"  replicas INTEGER NOT NULL DEFAULT 1,"
"  created_at TEXT NOT NULL DEFAULT " NOW ","
"  status TEXT NOT NULL DEFAULT 'pending',"
"  failure_reason TEXT,"
"  attempt_count INTEGER NOT NULL DEFAULT 0,"
"  started_at TEXT,"
"  healthy_at TEXT,"
"  exit_code INTEGER,"
"  log_tail TEXT,"
"  baseline_restart_count INTEGER NOT NULL DEFAULT 0);"
"CREATE INDEX idx_deployments_service_id ON deployments(service_id);"
"CREATE INDEX idx_deployments_status ON deployments(status);"

"CREATE TABLE containers ("
"  id TEXT PRIMARY KEY,"
"  service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,"
"  deployment_id TEXT NOT NULL"
"    REFERENCES deployments(id) ON DELETE CASCADE,"
"  docker_container_id TEXT NOT NULL,"
"  status TEXT NOT NULL DEFAULT 'created',"
"  created_at TEXT NOT NULL DEFAULT " NOW ");"
"CREATE INDEX idx_containers_service_id ON containers(service_id);"
"CREATE INDEX idx_containers_deployment_id ON containers(deployment_id);"

"CREATE TABLE canvas_nodes ("
"  id TEXT PRIMARY KEY,"
"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  type TEXT NOT NULL DEFAULT 'service',"
"  label TEXT NOT NULL DEFAULT '',"
"  position_x REAL NOT NULL DEFAULT 0,"
"  position_y REAL NOT NULL DEFAULT 0,"
"  width REAL,"
"  height REAL,"
"  service_id TEXT REFERENCES services(id) ON DELETE SET NULL,"
"  parent_id TEXT REFERENCES canvas_nodes(id) ON DELETE SET NULL,"
"  data TEXT NOT NULL DEFAULT '{}',"
"  created_at TEXT NOT NULL DEFAULT " NOW ","
"  updated_at TEXT NOT NULL DEFAULT " NOW ");"
"CREATE INDEX idx_canvas_nodes_project_id ON canvas_nodes(project_id);"
"CREATE UNIQUE INDEX idx_canvas_nodes_service_id ON canvas_nodes(service_id)"
"  WHERE service_id IS NOT NULL;"
"CREATE INDEX idx_canvas_nodes_parent_id ON canvas_nodes(parent_id);"

"CREATE TABLE canvas_edges ("
"  id TEXT PRIMARY KEY,"
"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  source_id TEXT NOT NULL REFERENCES canvas_nodes(id) ON DELETE CASCADE,"
"  target_id TEXT NOT NULL REFERENCES canvas_nodes(id) ON DELETE CASCADE,"
"  label TEXT,"
"  data TEXT NOT NULL DEFAULT '{}',"
"  created_at TEXT NOT NULL DEFAULT " NOW ","
"  updated_at TEXT NOT NULL DEFAULT " NOW ");"
"CREATE INDEX idx_canvas_edges_project_id ON canvas_edges(project_id);"
"CREATE INDEX idx_canvas_edges_source_id ON canvas_edges(source_id);"
"CREATE INDEX idx_canvas_edges_target_id ON canvas_edges(target_id);"

"CREATE TABLE env_vars ("
"  id TEXT PRIMARY KEY,"
"  scope TEXT NOT NULL CHECK (scope IN ('project', 'group', 'service')),"
"  scope_id TEXT NOT NULL,"
"  key TEXT NOT NULL,"
"  value TEXT NOT NULL,"
"  created_at TEXT NOT NULL DEFAULT " NOW ","
"  updated_at TEXT NOT NULL DEFAULT " NOW ","
"  UNIQUE (scope, scope_id, key));"
"CREATE INDEX idx_env_vars_scope ON env_vars(scope, scope_id);"
"CREATE TRIGGER env_vars_project_delete AFTER DELETE ON projects "
"BEGIN DELETE FROM env_vars WHERE scope = 'project' AND scope_id = OLD.id;"
"END;"
"CREATE TRIGGER env_vars_service_delete AFTER DELETE ON services "
"BEGIN DELETE FROM env_vars WHERE scope = 'service' AND scope_id = OLD.id;"
"END;"
"CREATE TRIGGER env_vars_group_delete AFTER DELETE ON canvas_nodes "
"WHEN OLD.type = 'group' "
"BEGIN DELETE FROM env_vars WHERE scope = 'group' AND scope_id = OLD.id;"
"END;"

"CREATE TABLE pending_changes ("
"  id TEXT PRIMARY KEY,"
"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  seq INTEGER NOT NULL,"
"  op TEXT NOT NULL,"
"  target_type TEXT NOT NULL,"
"  target_id TEXT,"
"  target_temp_id TEXT,"
"  parent_temp_id TEXT,"
"  payload TEXT NOT NULL DEFAULT '{}',"
"  user_id TEXT REFERENCES users(id) ON DELETE SET NULL,"
"  created_at TEXT NOT NULL DEFAULT " NOW ","
"  CHECK (target_id IS NOT NULL OR target_temp_id IS NOT NULL OR"
"    parent_temp_id IS NOT NULL),"
"  UNIQUE (project_id, seq));"
"CREATE INDEX idx_pending_changes_project_seq"
"  ON pending_changes(project_id, seq);"

"CREATE TABLE system_settings ("
"  key TEXT PRIMARY KEY,"
"  value TEXT NOT NULL,"
"  updated_at TEXT NOT NULL DEFAULT " NOW ");";

/*
 * The refresh token a session had before its last rotation: seeing it
 * again means a copy of it is in other hands (auth.c ends the session).
 */
static const char m0002_previous_refresh[] =
"ALTER TABLE sessions ADD COLUMN previous_refresh_hash TEXT;"
"CREATE INDEX idx_sessions_previous_refresh_hash"
"  ON sessions(previous_refresh_hash);";

/*
 * The named volumes of a service (Decision 8): a value tree, an array
 * of {name, path}, recorded when a deployment's image is a database
 * preset's; NULL for none.
 */
static const char m0003_service_volumes[] =
"ALTER TABLE services ADD COLUMN volumes TEXT;";

const struct db_migration db_migrations[] = {
	{ "0001_initial", m0001_initial },
	{ "0002_previous_refresh", m0002_previous_refresh },
	{ "0003_service_volumes", m0003_service_volumes },
};

const size_t db_nmigrations = sizeof(db_migrations) / sizeof(db_migrations[0]);
