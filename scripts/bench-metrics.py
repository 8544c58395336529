#!/usr/bin/env python3
"""What one /metrics scrape costs the database with 100k done jobs and 100k processed inbox rows,
before (0001 schema and queries) and after (migration 0002, split queries). SQLite via the
python sqlite3 module; PostgreSQL via psql at 127.0.0.1 (creates databases mb_before and mb_after)."""
import os, subprocess
os.chdir(os.path.dirname(os.path.abspath(__file__)) + '/..')
GEN = '''
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100000)
INSERT INTO job (id, kind, community_id, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
SELECT printf('job%08d', i), 'recognition.drain', NULL, '{}', CASE WHEN i % 1000 = 0 THEN 'queued' ELSE 'done' END, 1, 5, i, i, i FROM n;
'''
import sqlite3, time, statistics
M='crates/classcred-store/migrations/sqlite/'
def build(path, with2):
    if os.path.exists(path): os.remove(path)
    c=sqlite3.connect(path)
    c.executescript(open(M+'0001_init.sql').read())
    if with2: c.executescript(open(M+'0002_job_queue.sql').read())
    c.executescript(GEN)
    c.executescript("""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100000)
INSERT INTO inbox (id, community_id, platform, event_id, event_type, payload_enc, occurred_at, received_at, processed_at, seq, attempts)
SELECT printf('in%08d', i), 'c1', 'slack', printf('Ev%08d', i), 'message_posted', randomblob(300), i, i,
  CASE WHEN i % 2000 = 0 THEN NULL ELSE i END, i, 0 FROM n;
""")
    c.commit(); c.close()
build('/tmp/mb_before.db', False); build('/tmp/mb_after.db', True)
INBOX="""SELECT CAST(COALESCE(SUM(CASE WHEN attempts < 10 THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending,
 CAST(COALESCE(SUM(CASE WHEN attempts >= 10 THEN 1 ELSE 0 END), 0) AS BIGINT) AS parked FROM inbox WHERE processed_at IS NULL"""
before=["SELECT state, COUNT(*) AS n FROM job GROUP BY state", INBOX]
after=["SELECT state, COUNT(*) AS n FROM job WHERE state <> 'done' GROUP BY state", "SELECT COUNT(*) FROM job WHERE state = 'done'", INBOX]
def run(path, qs, n=60):
    c=sqlite3.connect(path); ts=[]
    for _ in range(n):
        t=time.perf_counter()
        for q in qs: c.execute(q).fetchall()
        ts.append((time.perf_counter()-t)*1000)
    for q in qs: print('   plan:', [r[3] for r in c.execute('EXPLAIN QUERY PLAN '+q)])
    ts.sort(); return statistics.median(ts), ts[0], ts[-1]
print('before', run('/tmp/mb_before.db', before))
print('after ', run('/tmp/mb_after.db', after))
print('after, live counts only', run('/tmp/mb_after.db', [after[0], INBOX]))

print('PostgreSQL')
P = 'crates/classcred-store/migrations/postgres/'
PSQL = ['psql', '-q', '-h', '127.0.0.1', '-U', 'postgres']
FILL = """SET session_replication_role = replica;
INSERT INTO job (id, kind, community_id, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
SELECT 'job'||i, 'recognition.drain', NULL, '{}', CASE WHEN i % 1000 = 0 THEN 'queued' ELSE 'done' END, 1, 5, i, i, i FROM generate_series(1,100000) i;
INSERT INTO inbox (id, community_id, platform, event_id, event_type, payload_enc, occurred_at, received_at, processed_at, seq, attempts)
SELECT 'in'||i, 'c1', 'slack', 'Ev'||i, 'message_posted', decode(repeat('ab', 300), 'hex'), i, i, CASE WHEN i % 2000 = 0 THEN NULL ELSE i END, i, 0 FROM generate_series(1,100000) i;
VACUUM ANALYZE;"""
for db in ['mb_before', 'mb_after']:
    subprocess.run(PSQL + ['-d', 'postgres', '-c', f'DROP DATABASE IF EXISTS {db}', '-c', f'CREATE DATABASE {db}'], check=True)
    files = ['0001_init.sql'] + (['0002_job_queue.sql'] if db == 'mb_after' else [])
    for f in files:
        subprocess.run(PSQL + ['-d', db, '-f', P + f], check=True, capture_output=True)
    subprocess.run(PSQL + ['-d', db], input=FILL, text=True, check=True, capture_output=True)
INBOX="SELECT CAST(COALESCE(SUM(CASE WHEN attempts < 10 THEN 1 ELSE 0 END), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN attempts >= 10 THEN 1 ELSE 0 END), 0) AS BIGINT) FROM inbox WHERE processed_at IS NULL"
sets={'mb_before':["SELECT state, COUNT(*) FROM job GROUP BY state", INBOX],
      'mb_after':["SELECT state, COUNT(*) FROM job WHERE state <> 'done' GROUP BY state","SELECT COUNT(*) FROM job WHERE state = 'done'", INBOX]}
for db, qs in sets.items():
    script="\\timing on\n"+"\n".join(q+";" for q in qs*30)
    out=subprocess.run(['psql','-h','127.0.0.1','-U','postgres','-d',db,'-q'],input=script,capture_output=True,text=True).stdout
    ts=[float(l.split()[1]) for l in out.splitlines() if l.startswith('Time:')]
    per=[sum(ts[i:i+len(qs)]) for i in range(0,len(ts),len(qs))]
    per.sort(); print(db, 'median ms/scrape', round(statistics.median(per),2), 'range', round(per[0],2), round(per[-1],2))
    if db=='mb_after':
        live=[ts[i]+ts[i+2] for i in range(0,len(ts),3)]; live.sort(); print('  live-only', round(statistics.median(live),2))
