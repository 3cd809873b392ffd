"""SQLite from Lua (SIPI's API): sqlite(path, mode), db << sql, stmt(args) / stmt(), ~stmt, ~db.
The database the script writes is read back with Python's own sqlite3 module."""
import json
import sqlite3

import pytest

from conftest import start_server, stop_server

SQL_LUA = """
local path = server.get.db
local db = sqlite(path, 'CRW')
local create = db << 'CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT, score REAL, note TEXT, flag INTEGER)'
create()
create = ~create
local ins = db << 'INSERT INTO t (name, score, note, flag) VALUES (?, ?, ?, ?)'
ins('ada', 9.5, nil, true)
ins('bob', 7, 'hi', false)
ins = ~ins
local q = db << 'SELECT id, name, score, note, flag FROM t WHERE score > ? ORDER BY id'
local rows = {}
local row = q(5)
while row do
  rows[#rows + 1] = { id = row[0], name = row[1], score = row[2], note = row[3], flag = row[4] }
  row = q()
end
q = ~q
db = ~db
server.sendHeader('Content-Type', 'application/json')
local _, s = server.table_to_json(rows)
server.print(s)
"""


@pytest.fixture(scope="module")
def sql_server(tmp_path_factory, imgroot):
    work = tmp_path_factory.mktemp("sqlite")
    scripts = work / "scripts"
    scripts.mkdir()
    (scripts / "sql.lua").write_text(SQL_LUA)
    (scripts / "ro.lua").write_text("local db = sqlite(server.get.db, 'RO'); server.print('opened')")
    (scripts / "badsql.lua").write_text("local db = sqlite(server.get.db, 'CRW'); local s = db << 'SELEKT 1'")
    extra = f"""scriptdir = '{scripts}',
}}
routes = {{
  {{ method = 'GET', route = '/sql', script = 'sql.lua' }},
  {{ method = 'GET', route = '/ro', script = 'ro.lua' }},
  {{ method = 'GET', route = '/badsql', script = 'badsql.lua' }},"""
    srv = start_server(str(work), imgroot, extra=extra)
    yield srv
    stop_server(srv)


def test_create_insert_select(sql_server, tmp_path):
    db = tmp_path / "t.db"
    status, _, body = sql_server.request(f"/sql?db={db}")
    assert status == 200, body
    rows = json.loads(body)
    assert rows == [{"id": 1, "name": "ada", "score": 9.5, "flag": 1},          # NULL note: absent
                    {"id": 2, "name": "bob", "score": 7.0, "note": "hi", "flag": 0}]
    with sqlite3.connect(db) as c:  # independent reader
        assert c.execute("SELECT name, score, note, flag FROM t ORDER BY id").fetchall() == \
            [("ada", 9.5, None, 1), ("bob", 7.0, "hi", 0)]


def test_errors_raise(sql_server, tmp_path):
    assert sql_server.request(f"/ro?db={tmp_path / 'missing.db'}")[0] == 500
    assert sql_server.request(f"/badsql?db={tmp_path / 'x.db'}")[0] == 500
    assert sql_server.request("/health")[0] == 200
