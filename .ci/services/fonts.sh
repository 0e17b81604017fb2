# Sourced by .ci/run: what the browser test (tests/test_browser.py) needs to render Chinese.
# Debian's Chromium ships without a CJK font, so every Chinese character would be drawn as a box
# and the screenshots would show nothing; fonts-noto-cjk provides Noto Sans/Serif CJK. Installs
# chromium + chromium-driver too when missing. Exports where the tests keep their screenshots.
_fonts_need=""
command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ] || _fonts_need="fonts-noto-cjk fontconfig"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || _fonts_need="$_fonts_need chromium"
command -v chromedriver >/dev/null 2>&1 || _fonts_need="$_fonts_need chromium-driver"
if [ -n "$_fonts_need" ]; then
  _fonts_sudo=""; [ "$(id -u)" -eq 0 ] || _fonts_sudo="sudo -n"
  echo "fonts.sh: installing$_fonts_need"
  $_fonts_sudo apt-get update -qq
  # shellcheck disable=SC2086 (a list of package names)
  $_fonts_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $_fonts_need >/dev/null
  command -v fc-cache >/dev/null 2>&1 && fc-cache -f >/dev/null 2>&1 || true
fi
# Screenshots of the browser tests: kept by CI as artifacts.
export NEWS_SEARCH_ARTIFACTS="${NEWS_SEARCH_ARTIFACTS:-$PWD/.ci/artifacts/browser}"
mkdir -p "$NEWS_SEARCH_ARTIFACTS"
unset _fonts_need _fonts_sudo
