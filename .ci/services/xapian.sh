# Xapian shards for the Xapian engine's tests (the conformance suite, tests/test_xapian_*.py): Debian's
# xapian-tools (xapian-tcpsrv, xapian-replicate) and iproute2 (`ip netns`, tests/test_xapian_netns.py),
# three writable shards served by `news-search shard serve` on free loopback ports, each in a directory
# of a temporary root. Sourced by .ci/run (set -euo pipefail) after the project (with the `test` extra,
# which pins xapian-bindings-binary) is installed; exports NEWS_SEARCH_TEST_XAPIAN_SHARDS
# (127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3), NEWS_SEARCH_XAPIAN_PIDS and NEWS_SEARCH_XAPIAN_ROOT.
# Source it locally too: `. .ci/services/xapian.sh`; stop the servers with `kill $NEWS_SEARCH_XAPIAN_PIDS`.
if ! command -v xapian-tcpsrv >/dev/null 2>&1 || ! command -v xapian-replicate >/dev/null 2>&1 \
    || ! command -v ip >/dev/null 2>&1; then
  _ns_sudo=""; [ "$(id -u)" -eq 0 ] || _ns_sudo="sudo -n"
  $_ns_sudo apt-get update -qq
  $_ns_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xapian-tools iproute2 >/dev/null
  unset _ns_sudo
fi
_ns_root="$(mktemp -d /tmp/news-search-xapian.XXXXXX)"
_ns_specs=""
NEWS_SEARCH_XAPIAN_PIDS=""
for _ns_i in 0 1 2; do
  _ns_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # setsid: the server outlives the shell that started it and ignores its job control.
  setsid news-search shard serve --dir "$_ns_root/shard$_ns_i" --port "$_ns_port" --host 127.0.0.1 \
    </dev/null >"$_ns_root/shard$_ns_i.log" 2>&1 &
  NEWS_SEARCH_XAPIAN_PIDS="$NEWS_SEARCH_XAPIAN_PIDS $!"
  _ns_specs="$_ns_specs${_ns_specs:+,}127.0.0.1:$_ns_port"
done
# Wait until every shard answers a remote open (the database is created before the server listens).
python - "$_ns_specs" <<'PY' || { cat "$_ns_root"/shard*.log >&2; return 1; }
import sys, time
import xapian
for spec in sys.argv[1].split(","):
    host, port = spec.rsplit(":", 1)
    for _ in range(100):
        try:
            xapian.remote_open(host, int(port), 1000).get_doccount()
            break
        except xapian.Error:
            time.sleep(0.1)
    else:
        sys.exit(f"the Xapian shard {spec} did not answer within 10s")
PY
export NEWS_SEARCH_TEST_XAPIAN_SHARDS="$_ns_specs"
export NEWS_SEARCH_XAPIAN_PIDS="${NEWS_SEARCH_XAPIAN_PIDS# }"
export NEWS_SEARCH_XAPIAN_ROOT="$_ns_root"
echo "Xapian shards on $NEWS_SEARCH_TEST_XAPIAN_SHARDS (pids $NEWS_SEARCH_XAPIAN_PIDS, data in $_ns_root)"
unset _ns_root _ns_specs _ns_i _ns_port
