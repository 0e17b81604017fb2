# nginx (Debian's) for tests/test_nginx.py: installed when missing. The test writes its own
# configuration into a temporary directory and runs nginx there on loopback ports of its own,
# so nothing is started here; we only say where the binary is.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
# A system nginx that the package may have started on port 80 is left alone: the test uses its own ports.
NEWS_SEARCH_NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
export NEWS_SEARCH_NGINX
