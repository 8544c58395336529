#!/usr/bin/env bash
# Runs every test of ClassCred. Sets up what the tests need on this machine:
#  - PostgreSQL: when CLASSCRED_TEST_POSTGRES_URL is unset and a server answers on
#    127.0.0.1:5432 (or can be started with pg_ctlcluster), storage tests run on it as well as
#    on SQLite. Each test creates and drops its own database.
#  - The official Python slack_sdk in a virtualenv (target/venv-slack), for the Slack
#    signature and Block Kit cross-checks.
#  - Microsoft's botbuilder-python 4.17.1 in a virtualenv (target/venv-teams), whose JWT
#    validator and Connector routes cross-check the Teams adapter.
#  - Browser tests: Debian's chromium (apt-get, only as root and when /usr/bin/chromium is
#    missing), node, and playwright-core + axe-core in tests/browser/node_modules (npm ci from the
#    committed package-lock.json). No tool that downloads a browser of its own.
#  - A real OpenID Provider (the npm package oidc-provider, pinned by
#    tests/oidc-provider/package-lock.json), installed with `npm ci` when missing, for the
#    classcred-oidc sign-in tests (they start it on a loopback port).
#  - schemathesis in a virtualenv (target/venv-schemathesis), which fuzzes the JSON API against
#    its OpenAPI document.
#  - Synapse (PyPI matrix-synapse) and matrix-nio in a virtualenv (target/venv-synapse), for the
#    Matrix end-to-end test (it starts Synapse on 127.0.0.1 with SQLite and kills it at the end).
# Set CLASSCRED_REQUIRE_POSTGRES=1 to fail instead of skipping PostgreSQL (here, and in every test
# that wants it), CLASSCRED_REQUIRE_SLACK_SDK=1 to fail instead of skipping the slack_sdk
# cross-checks, CLASSCRED_REQUIRE_TEAMS_SDK=1 to fail instead of skipping the botbuilder ones, CLASSCRED_REQUIRE_OIDC_PROVIDER=1 to fail instead of skipping the tests against the
# OpenID Provider, CLASSCRED_REQUIRE_SCHEMATHESIS=1 to fail instead of skipping the schemathesis
# run, CLASSCRED_REQUIRE_BROWSER=1 to fail instead of skipping the browser tests, and
# CLASSCRED_REQUIRE_SYNAPSE=1 to fail instead of skipping the Matrix end-to-end test. CI (.ci/run)
# sets them all.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CLASSCRED_TEST_POSTGRES_URL:-}" ]; then
  if command -v pg_isready >/dev/null 2>&1; then
    if ! pg_isready -h 127.0.0.1 -p 5432 -q && command -v pg_ctlcluster >/dev/null 2>&1; then
      echo "== starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
      for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
    fi
    if pg_isready -h 127.0.0.1 -p 5432 -q; then
      export CLASSCRED_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
    fi
  fi
fi
if [ -n "${CLASSCRED_TEST_POSTGRES_URL:-}" ]; then
  echo "== PostgreSQL tests on ${CLASSCRED_TEST_POSTGRES_URL%%\?*}"
elif [ "${CLASSCRED_REQUIRE_POSTGRES:-0}" = "1" ]; then
  echo "PostgreSQL is required (CLASSCRED_REQUIRE_POSTGRES=1) but none answers on 127.0.0.1:5432" >&2
  exit 1
else
  echo "== PostgreSQL not available: storage tests run on SQLite only"
fi

if [ -z "${CLASSCRED_SLACK_SDK_PYTHON:-}" ]; then
  venv=target/venv-slack
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import slack_sdk" 2>/dev/null; then
    echo "== installing slack_sdk into $venv"
    mkdir -p target
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "slack_sdk==3.48.0"
  fi
  export CLASSCRED_SLACK_SDK_PYTHON="$PWD/$venv/bin/python"
fi
if [ "${CLASSCRED_REQUIRE_SLACK_SDK:-0}" = "1" ] && ! "$CLASSCRED_SLACK_SDK_PYTHON" -c "import slack_sdk"; then
  echo "slack_sdk is required (CLASSCRED_REQUIRE_SLACK_SDK=1) but $CLASSCRED_SLACK_SDK_PYTHON cannot import it" >&2
  exit 1
fi

if [ -z "${CLASSCRED_TEAMS_SDK_PYTHON:-}" ]; then
  venv=target/venv-teams
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import botbuilder.core, botframework.connector" 2>/dev/null; then
    echo "== installing botbuilder (botframework-connector, PyJWT, msal) into $venv"
    mkdir -p target
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "botbuilder-core==4.17.1" "botbuilder-integration-aiohttp==4.17.1" \
      || echo "== botbuilder could not be installed; the Teams cross-checks skip unless required"
  fi
  if "$venv/bin/python" -c "import botbuilder.core, botframework.connector" 2>/dev/null; then
    export CLASSCRED_TEAMS_SDK_PYTHON="$PWD/$venv/bin/python"
  fi
fi
if [ -n "${CLASSCRED_TEAMS_SDK_PYTHON:-}" ]; then
  echo "== Teams JWT and Connector cross-checks with botbuilder ($CLASSCRED_TEAMS_SDK_PYTHON)"
elif [ "${CLASSCRED_REQUIRE_TEAMS_SDK:-0}" = "1" ]; then
  echo "botbuilder is required (CLASSCRED_REQUIRE_TEAMS_SDK=1) but could not be installed into target/venv-teams" >&2
  exit 1
else
  echo "== SKIPPING the Teams botbuilder cross-checks: botbuilder could not be installed"
fi

apt_install() {
  echo "== installing $* (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; } || true
}
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  [ -x /usr/bin/chromium ] || apt_install chromium
  # Without an emoji font the screenshots show the pages' 🔥 as an empty box.
  [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || apt_install fonts-noto-color-emoji
  command -v node >/dev/null 2>&1 || apt_install nodejs npm
fi
browser_dir=tests/browser
if command -v npm >/dev/null 2>&1 &&
  { [ ! -f "$browser_dir/node_modules/.package-lock.json" ] ||
    [ "$browser_dir/package-lock.json" -nt "$browser_dir/node_modules/.package-lock.json" ]; }; then
  echo "== installing playwright-core and axe-core into $browser_dir/node_modules"
  (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error) || true
fi
browser_missing=""
[ -x /usr/bin/chromium ] || browser_missing="$browser_missing /usr/bin/chromium"
command -v node >/dev/null 2>&1 || browser_missing="$browser_missing node"
[ -f "$browser_dir/node_modules/playwright-core/package.json" ] || browser_missing="$browser_missing playwright-core"
[ -f "$browser_dir/node_modules/axe-core/package.json" ] || browser_missing="$browser_missing axe-core"
if [ -z "$browser_missing" ]; then
  echo "== browser tests in $(/usr/bin/chromium --version 2>/dev/null | head -n1), node $(node --version)"
elif [ "${CLASSCRED_REQUIRE_BROWSER:-0}" = "1" ]; then
  echo "browser tests are required (CLASSCRED_REQUIRE_BROWSER=1) but missing:$browser_missing" >&2
  exit 1
else
  echo "== SKIPPING browser tests: missing$browser_missing (run this script as root to install them)"
fi

oidc_dir=tests/oidc-provider
if [ ! -f "$oidc_dir/node_modules/oidc-provider/package.json" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "== installing oidc-provider into $oidc_dir (npm ci)"
    npm ci --prefix "$oidc_dir" --no-audit --no-fund --loglevel=error || true
  fi
fi
if [ -f "$oidc_dir/node_modules/oidc-provider/package.json" ] && command -v node >/dev/null 2>&1; then
  echo "== OpenID Connect tests against oidc-provider on loopback"
elif [ "${CLASSCRED_REQUIRE_OIDC_PROVIDER:-0}" = "1" ]; then
  echo "oidc-provider is required (CLASSCRED_REQUIRE_OIDC_PROVIDER=1) but node or $oidc_dir/node_modules is missing" >&2
  exit 1
else
  echo "== SKIPPING the OpenID Connect provider tests: node/npm or oidc-provider missing"
fi

if [ -z "${CLASSCRED_SCHEMATHESIS:-}" ]; then
  venv=target/venv-schemathesis
  if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
    echo "== installing schemathesis into $venv"
    mkdir -p target
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5" \
      || echo "== schemathesis could not be installed; its test skips unless required"
  fi
  if [ -x "$venv/bin/schemathesis" ]; then
    export CLASSCRED_SCHEMATHESIS="$PWD/$venv/bin/schemathesis"
  fi
fi
if [ "${CLASSCRED_REQUIRE_SCHEMATHESIS:-0}" = "1" ] && ! "${CLASSCRED_SCHEMATHESIS:-false}" --version >/dev/null 2>&1; then
  echo "schemathesis is required (CLASSCRED_REQUIRE_SCHEMATHESIS=1) but ${CLASSCRED_SCHEMATHESIS:-no executable} does not run" >&2
  exit 1
fi

if [ -z "${CLASSCRED_SYNAPSE_VENV:-}" ]; then
  venv=target/venv-synapse
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import synapse, nio, yaml" 2>/dev/null; then
    echo "== installing matrix-synapse and matrix-nio into $venv (about a minute)"
    mkdir -p target
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "matrix-synapse==1.163.2" "matrix-nio==0.26.0" \
      || echo "== matrix-synapse could not be installed; the Matrix end-to-end test skips unless required"
  fi
  export CLASSCRED_SYNAPSE_VENV="$PWD/$venv"
fi
if "$CLASSCRED_SYNAPSE_VENV/bin/python" -c "import synapse, nio, yaml" 2>/dev/null; then
  echo "== Matrix end-to-end test against Synapse from $CLASSCRED_SYNAPSE_VENV"
elif [ "${CLASSCRED_REQUIRE_SYNAPSE:-0}" = "1" ]; then
  echo "Synapse is required (CLASSCRED_REQUIRE_SYNAPSE=1) but $CLASSCRED_SYNAPSE_VENV cannot import synapse and nio" >&2
  exit 1
else
  echo "== SKIPPING the Matrix end-to-end test: matrix-synapse / matrix-nio not installed"
fi

cargo test --workspace --locked "$@"
