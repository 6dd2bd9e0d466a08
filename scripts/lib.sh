# Shared shell helpers for the project's scripts (sourced, not run).

# System packages the test suite needs; installed when missing and running as root.
SYSTEM_PACKAGES=(mariadb-server mariadb-client prometheus prometheus-alertmanager docker-compose shellcheck fonts-noto-cjk poppler-utils chromium nodejs)

ensure_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != "0" ]; then
    echo "missing system packages: ${missing[*]} (install them, or run as root)" >&2
    exit 1
  fi
  echo "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

mariadb_up() {
  mariadb-admin --no-defaults -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1
}

ensure_mariadb() {
  [ -n "${BEACHSAVER_TEST_MYSQL_URL:-}" ] && return 0
  mariadb_up && return 0
  if [ "$(id -u)" = "0" ] && [ -x /usr/sbin/mariadbd ]; then
    echo "starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    if [ ! -d /var/lib/mysql/mysql ]; then
      mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null 2>&1 || true
    fi
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do mariadb_up && break; sleep 0.5; done
    if mariadb_up; then
      mariadb --no-defaults -h127.0.0.1 -uroot -e "CREATE DATABASE IF NOT EXISTS test" >/dev/null 2>&1 || true
    fi
  fi
}

default_mysql_url() {
  if mariadb_up; then echo "mysql://root@127.0.0.1:3306/test"; fi
}

# axe-core for the browser tests' accessibility scans (tests/web/package.json, from the npm registry).
ensure_node_packages() {
  [ -f tests/web/node_modules/axe-core/axe.min.js ] && return 0
  (cd tests/web && npm install --no-audit --no-fund --silent >/dev/null)
}
