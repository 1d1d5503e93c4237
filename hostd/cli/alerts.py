"""`hostd alerts`: what needs a person now, and where alerts are sent.

hostd/cli/root.py calls register() with its group and helpers. `hostd run`
raises and clears the alerts (hostd/alerts/watch.py); these commands read
them and set the webhook (hostd/alerts/webhook.py).
"""

import time

import click
from tabulate import tabulate

from hostd.alerts import conditions, ledger, webhook
from hostd.cli.shared import db_opener, when


def register(cli, home_of, db_of):
    open_db = db_opener(home_of, db_of)

    @cli.group()
    def alerts():
        """Alerts: silent devices, upstream backlog, disk, certificates, calendar, overdue orders.

        Example: hostd alerts list
        """

    @alerts.command("list")
    @click.option(
        "--days", type=click.IntRange(1, 3650), default=None, help="Also those cleared in the last N days."
    )
    @click.pass_context
    def alerts_list(ctx, days):
        """The open alerts (with --days, also the cleared ones of those days).

        Example: hostd alerts list --days 7
        """
        _config, db = open_db(ctx)
        rows = ledger.recent(db, time.time() - days * 86400) if days else ledger.open_alerts(db)
        if not rows:
            click.echo("no alerts" if days else "no open alerts")
            return
        click.echo(
            tabulate(
                [
                    [
                        r["id"],
                        conditions.NAMES.get(r["kind"], r["kind"]),
                        when(r["raised_at"]),
                        when(r["cleared_at"]) if r["cleared_at"] else "open",
                        r["message"],
                    ]
                    for r in rows
                ],
                headers=["id", "kind", "raised", "cleared", "message"],
            )
        )

    @alerts.command("webhook")
    @click.argument("url", required=False)
    @click.option("--kind", type=click.Choice(webhook.KINDS), default="wecom", show_default=True)
    @click.option("--secret", default="", help="DingTalk 加签 secret (SEC...), for --kind dingtalk.")
    @click.option("--keyword", default="", help="Words every message carries (a DingTalk robot's keyword).")
    @click.option("--off", is_flag=True, help="Send alerts nowhere (the dashboard still shows them).")
    @click.pass_context
    def alerts_webhook(ctx, url, kind, secret, keyword, off):
        """Where alerts go: a WeCom or DingTalk group robot, or a JSON endpoint.

        The URL holds the robot's key: it is kept in keys/alert-webhook.json (0600).

        Example: hostd alerts webhook 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...'
        Example: hostd alerts webhook 'https://oapi.dingtalk.com/robot/send?access_token=...'
        --kind dingtalk --secret SEC...
        """
        home = home_of(ctx)
        home.config()
        if off:
            webhook.remove(home)
            click.echo("alerts go to no webhook now")
            return
        if not url:
            current = webhook.load(home)
            click.echo(
                "alerts go to a %s webhook (%s)" % (current["kind"], _shown(current["url"]))
                if current
                else "no webhook: give its URL, e.g. hostd alerts webhook 'https://...' --kind wecom"
            )
            return
        webhook.save(home, url, kind, secret, keyword)
        click.echo(
            "alerts go to the %s webhook %s; `hostd alerts test` sends a test message" % (kind, _shown(url))
        )

    @alerts.command("test")
    @click.pass_context
    def alerts_test(ctx):
        """Send a test message to the webhook now.

        Example: hostd alerts test
        """
        home = home_of(ctx)
        config = home.config()
        settings = webhook.load(home)
        if settings is None:
            raise webhook.WebhookError("no webhook set: hostd alerts webhook URL --kind wecom|dingtalk|json")
        now = int(time.time())
        row = {
            "id": 0,
            "key": "test:0",
            "kind": "test",
            "subject": "0",
            "message": "测试消息：告警将发送到这里（hostd alerts test）",
            "raised_at": now,
            "cleared_at": None,
        }
        with webhook.Sender() as sender:
            sender.deliver(settings, config["hall"]["id"], [(row, "raised")])
        click.echo("the %s webhook took the test message" % settings["kind"])


def _shown(url):
    """The URL without its query (the robot's key)."""
    return url.split("?", 1)[0] + ("?…" if "?" in url else "")
