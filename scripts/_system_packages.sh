# Debian packages the test suite drives for real: Chromium (the admin console's browser
# tests; Playwright never downloads a browser here) and redis-server (the rate limit across
# app servers).  Installed when missing and we may (root, or sudo); otherwise those tests
# skip and say why.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  if [ -z "$SUDO" ] || command -v sudo >/dev/null; then
    echo "Installing ${missing[*]} (apt-get)" >&2
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"; } \
      >/dev/null 2>&1 || echo "Could not install ${missing[*]}: the tests that need them will skip" >&2
  fi
fi
