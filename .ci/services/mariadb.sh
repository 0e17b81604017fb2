# MariaDB for the CMS-database tests (tests/test_source_db_mysql.py): Debian's mariadb-server, a private
# server in a temporary data directory on 127.0.0.1:$NEWS_SEARCH_MARIADB_PORT and a socket of its own.
# Sourced by .ci/run (set -euo pipefail); exports NEWS_SEARCH_TEST_MYSQL_URL (a user allowed to create
# databases). Source it locally too: `. .ci/services/mariadb.sh`; stop it with `kill "$NEWS_SEARCH_MARIADB_PID"`.
if ! command -v mariadbd >/dev/null 2>&1 || ! command -v mariadb-install-db >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
fi
# A free loopback port unless one is given: a server left over from another run must not collide.
_ns_port="${NEWS_SEARCH_MARIADB_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
_ns_dir="$(mktemp -d /tmp/news-search-mariadb.XXXXXX)"
_ns_pw="pw$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
mariadb-install-db --no-defaults --datadir="$_ns_dir/data" --user=root \
  --auth-root-authentication-method=socket >"$_ns_dir/install.log" 2>&1 \
  || { cat "$_ns_dir/install.log" >&2; return 1; }
# setsid: the server outlives the shell that started it and ignores its job control.
setsid mariadbd --no-defaults --datadir="$_ns_dir/data" --user=root --socket="$_ns_dir/mysqld.sock" \
  --skip-networking=0 --port="$_ns_port" --bind-address=127.0.0.1 --pid-file="$_ns_dir/mysqld.pid" \
  --log-error="$_ns_dir/error.log" --innodb-buffer-pool-size=64M --skip-log-bin </dev/null >/dev/null 2>&1 &
NEWS_SEARCH_MARIADB_PID=$!
for _ns_i in $(seq 1 120); do
  mariadb-admin --no-defaults --socket="$_ns_dir/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
  sleep 0.5
done
mariadb --no-defaults --socket="$_ns_dir/mysqld.sock" -uroot -e "
  CREATE USER 'newssearch'@'127.0.0.1' IDENTIFIED BY '$_ns_pw';
  GRANT ALL PRIVILEGES ON *.* TO 'newssearch'@'127.0.0.1';" \
  || { echo "MariaDB did not start; see $_ns_dir/error.log" >&2; cat "$_ns_dir/error.log" >&2; return 1; }
export NEWS_SEARCH_MARIADB_PID
export NEWS_SEARCH_MARIADB_SOCKET="$_ns_dir/mysqld.sock"
export NEWS_SEARCH_TEST_MYSQL_URL="mysql+pymysql://newssearch:$_ns_pw@127.0.0.1:$_ns_port/"
echo "MariaDB on 127.0.0.1:$_ns_port (pid $NEWS_SEARCH_MARIADB_PID, data in $_ns_dir)"
unset _ns_port _ns_dir _ns_pw _ns_i
