# Shared by the benchmark scripts: a sandbox server with N identical venues and a fleet file.
# Source it after setting: venues, scale, work (a temporary directory). Defines psql_b, bin, median.
export GWI_SANDBOX_PORT="${BENCH_PORT:-54339}"
port="$GWI_SANDBOX_PORT"
scripts/install-deps
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
swift build -c release --product gwi-fleet 2>&1 | tail -n 1
bin="$(swift build -c release --show-bin-path)/gwi-fleet"
scripts/sandbox start >/dev/null
trap 'scripts/sandbox stop >/dev/null; rm -rf "$work"' EXIT
psql_b() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "bench: seeding $venues venues at scale $scale in $work" >&2
psql_b -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS gwi_pos_bench_template" \
  -c "CREATE DATABASE gwi_pos_bench_template"
psql_b -d gwi_pos_bench_template -v scale="$scale" -f sandbox/seed.sql >/dev/null
# Vacuumed once and no autovacuum afterwards, so sizes do not change underneath a comparison.
psql_b -d gwi_pos_bench_template -c "VACUUM ANALYZE" -c "DO \$\$DECLARE t regclass; BEGIN
  FOR t IN SELECT oid::regclass FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace LOOP
    EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', t);
  END LOOP; END\$\$"
{
  echo "version: 1"
  echo "defaults:"
  echo "  url: postgresql://postgres@127.0.0.1:$port/{database}"
  # pg_dump -Fc's own compression, as the dumps by hand have it (zstd, the default, is scripts/bench-compression's).
  echo "  backup: {dir: $work/gwi, format: custom, compression: gzip}"
  echo "reports: {dir: $work/reports}"
  # The benchmarks time the venues' work; coverage of the server (the template, the sandbox's own
  # venues) would make every run exit 1 with a problem that is not what is measured.
  echo 'ignore: ["%"]'
  echo "venues:"
} > "$work/fleet.yaml"
: > "$work/databases.txt"
for i in $(seq -f "%02g" 1 "$venues"); do
  psql_b -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS gwi_pos_bench$i" \
    -c "CREATE DATABASE gwi_pos_bench$i TEMPLATE gwi_pos_bench_template"
  echo "  - slug: bench$i" >> "$work/fleet.yaml"
  echo "gwi_pos_bench$i" >> "$work/databases.txt"
done
size=$(psql_b -d "$(head -n 1 "$work/databases.txt")" -tAc "SELECT pg_size_pretty(pg_database_size(current_database()))")
echo "bench: each venue database is $size" >&2
