"""Generates and patches a Synapse config for ClassCred's end-to-end test.

usage: homeserver.py DIR SERVER_NAME PORT REGISTRATION_FILE
Runs `synapse.app.homeserver --generate-config` in DIR (SQLite, the default), then patches it:
127.0.0.1 only on PORT, the client listener only, no trusted key servers, the Application
Service registration, relaxed rate limits, registration closed (users come from
register_new_matrix_user with the shared secret). Prints the config path.
"""

import os
import subprocess
import sys

import yaml


def main():
    d, server, port, registration = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    path = os.path.join(d, "homeserver.yaml")
    subprocess.run(
        [
            sys.executable, "-m", "synapse.app.homeserver",
            "--server-name", server,
            "--config-path", path,
            "--data-directory", d,
            "--generate-config",
            "--report-stats=no",
        ],
        check=True,
        cwd=d,
        stdout=subprocess.DEVNULL,
    )
    with open(path) as f:
        cfg = yaml.safe_load(f)
    cfg["listeners"] = [
        {
            "port": port,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "tls": False,
            "x_forwarded": False,
            "resources": [{"names": ["client"], "compress": False}],
        }
    ]
    cfg["trusted_key_servers"] = []
    cfg["suppress_key_server_warning"] = True
    cfg["app_service_config_files"] = [registration]
    cfg["enable_registration"] = False
    cfg["report_stats"] = False
    cfg["presence"] = {"enabled": False}
    relaxed = {"per_second": 1000, "burst_count": 1000}
    for key in [
        "rc_message", "rc_registration", "rc_admin_redaction", "rc_joins_per_room",
        "rc_3pid_validation", "rc_invites", "rc_third_party_invite",
    ]:
        cfg[key] = relaxed
    cfg["rc_login"] = {"address": relaxed, "account": relaxed, "failed_attempts": relaxed}
    cfg["rc_joins"] = {"local": relaxed, "remote": relaxed}
    cfg["rc_invites"] = {"per_room": relaxed, "per_user": relaxed, "per_issuer": relaxed}
    cfg["log_config"] = os.path.join(d, "log.config")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    # Logs to a file in DIR, warnings and up.
    with open(cfg["log_config"], "w") as f:
        f.write(
            "version: 1\n"
            "formatters:\n  precise:\n    format: '%(asctime)s %(name)s %(levelname)s %(message)s'\n"
            "handlers:\n  file:\n    class: logging.FileHandler\n    formatter: precise\n"
            f"    filename: {os.path.join(d, 'homeserver.log')}\n"
            "loggers:\n  synapse.appservice:\n    level: INFO\n"
            "root:\n  level: WARNING\n  handlers: [file]\n"
            "disable_existing_loggers: false\n"
        )
    print(path)


if __name__ == "__main__":
    main()
