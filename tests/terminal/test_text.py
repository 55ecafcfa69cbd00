"""Terminal rendering of turns, proposals and outcomes, with and without colour."""

from __future__ import annotations

import io

from bot.agent.turn import Turn, Usage
from bot.terminal.text import (
    CONFIRM_PROMPT,
    clean,
    plain,
    render_outcome,
    render_proposal,
    render_stats,
    render_turn,
    use_color,
    wrap,
)
from bot.tools.base import Operation, Proposal
from bot.tools.proposals import Outcome

ACK = Proposal(
    action="acknowledge_incidents", summary="Acknowledge 2 incidents",
    lines=("#1001 Payment gateway timeouts (triggered)", "#1002 High CPU on db-primary-1 (triggered)"),
    operations=(Operation("PUT", "/incidents", {"incidents": []}, kind="bulk_status"),),
    noops=("#1004 is already acknowledged",))


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_turn_has_reply_box_and_notice_without_escape_codes() -> None:
    turn = Turn("Two incidents are open.", "llm", proposals=[ACK], notice="The model was slow.")
    text = render_turn(turn)
    assert "\033[" not in text
    assert text.startswith("Two incidents are open.")
    assert "Acknowledge 2 incidents" in text
    assert "#1001 Payment gateway timeouts (triggered)" in text
    assert "no change: #1004 is already acknowledged" in text
    assert text.index("Acknowledge 2 incidents") < text.index(CONFIRM_PROMPT) < text.index("note: The model was slow.")


def test_proposal_box_lines_in_order() -> None:
    rows = render_proposal(ACK).splitlines()
    assert rows[0] == "┌ Acknowledge 2 incidents"
    assert rows[1:4] == ["│   #1001 Payment gateway timeouts (triggered)",
                         "│   #1002 High CPU on db-primary-1 (triggered)",
                         "│   no change: #1004 is already acknowledged"]
    assert rows[-1] == f"└ {CONFIRM_PROMPT}"


def test_proposal_with_nothing_to_do_asks_nothing() -> None:
    noop = Proposal("acknowledge_incidents", "Nothing to do: #1004 is already acknowledged", (), (),
                    noops=("#1004 is already acknowledged",))
    box = render_proposal(noop)
    assert CONFIRM_PROMPT not in box
    assert box.splitlines()[-1] == "└ nothing to confirm"


def test_colour_uses_ansi_codes_and_dims_the_notice() -> None:
    turn = Turn("Done.", "command", proposals=[ACK], notice="command mode")
    text = render_turn(turn, color=True)
    assert "\033[1mAcknowledge 2 incidents\033[0m" in text
    assert "\033[2mnote: command mode\033[0m" in text


def test_turn_without_proposal_boxes() -> None:
    text = render_turn(Turn("Here.", "llm", proposals=[ACK]), proposals=False)
    assert text == "Here."


def test_use_color_only_on_a_tty_and_without_no_color() -> None:
    assert use_color(FakeTTY(), {}) is True
    assert use_color(FakeTTY(), {"NO_COLOR": "1"}) is False
    assert use_color(io.StringIO(), {}) is False


def test_terminal_escapes_from_pagerduty_text_are_removed_and_links_written_out() -> None:
    assert clean("Disk full \x1b[2J\x07now") == "Disk full [2Jnow"
    assert clean("see <https://acme.pagerduty.com/incidents/P1|#1001>") == "see #1001 (https://acme.pagerduty.com/incidents/P1)"
    assert clean("<https://x.example/a>") == "https://x.example/a"


def test_outcome_rendering() -> None:
    done = render_outcome(Outcome(True, "Done as Sam Rivera: acknowledge 1 incident.", ["#1001 x: acknowledged"]))
    assert done.splitlines() == ["✓ Done as Sam Rivera: acknowledge 1 incident.", "  #1001 x: acknowledged"]
    refused = render_outcome(Outcome(False, "Olivia can't acknowledge incidents."), color=True)
    assert refused == "\033[31m✗ Olivia can't acknowledge incidents.\033[0m"
    maybe = render_outcome(Outcome(False, "PagerDuty did not confirm this change.", maybe_applied=True))
    assert maybe.startswith("? PagerDuty did not confirm")


def test_stats_line() -> None:
    turn = Turn("x", "llm", pd_requests=3, llm_calls=2, usage=Usage(100, 20), timings={"total": 812.4})
    assert render_stats(turn) == "(LLM · 3 PagerDuty requests · 2 LLM calls · 120 tokens · 812 ms)"
    assert render_stats(Turn("x", "command", pd_requests=1)) == "(command mode · 1 PagerDuty request · 0 LLM calls)"


def test_slack_mrkdwn_becomes_plain_text() -> None:
    assert plain("*Payments* is **down**; type `ack 1252`") == 'Payments is down; type "ack 1252"'
    assert plain('`override "Platform Primary" me tomorrow`') == '\'override "Platform Primary" me tomorrow\''
    assert plain("since <!date^1773151200^{date_short_pretty} {time}|Tue 10 Mar 10:00>") == "since Tue 10 Mar 10:00"
    assert plain("at <!date^1773151200^{time}>") == "at Tue 10 Mar 14:00 UTC"
    assert plain("<!here> ask <@U123|sam> in <#C42|inc-1252>") == "@here ask @sam in #inc-1252"
    assert plain("<mailto:sam@acme.example|sam@acme.example>") == "sam@acme.example"
    assert plain(":warning: disk full :custom_party: now") == "⚠ disk full now"
    assert plain("_maybe_ ~not~ &lt;b&gt; &amp;") == "maybe not <b> &"
    assert plain("```\nplain block\n```") == "plain block\n"


def test_plain_text_that_only_looks_like_mrkdwn_is_left_alone() -> None:
    for text in ("CDN origin 5xx for /checkout/*", "incidents [mine|<service>]", "5 * 3 * 2", "read_only_user",
                 "at 14:00:00", "ratio 2:1:3", "note: done", "a <b> c"):
        assert plain(text) == text


def test_bold_is_bold_with_colour_and_code_is_cyan() -> None:
    assert plain("*Down* `ack 1`", color=True) == '\033[1mDown\033[0m \033[36m"ack 1"\033[0m'


def test_escape_sequences_cannot_be_smuggled_through_entities() -> None:
    assert "\x1b" not in clean("title &#27;[2J &#x1b;[31m")


def test_wrap_breaks_at_spaces_with_hanging_indents() -> None:
    text = ("• oncall [<service>|<schedule>|<policy>|me] [<window>]: who is on call, e.g. oncall me\n"
            "│   #1001 Payment gateway timeouts on the checkout path in eu-west-1\n"
            "short line")
    assert wrap(text, 40).splitlines() == [
        "• oncall",
        "  [<service>|<schedule>|<policy>|me]",
        "  [<window>]: who is on call, e.g.",
        "  oncall me",
        "│   #1001 Payment gateway timeouts on",
        "│   the checkout path in eu-west-1",
        "short line"]
    assert wrap(text, None) == text  # not a terminal: lines stay whole


def test_wrap_ignores_colour_codes_and_keeps_long_words_whole() -> None:
    red = "\033[31mfailed\033[0m"
    assert wrap(f"{red} " * 8, 30).splitlines() == [" ".join([red] * 4)] * 2
    url = "https://acme.pagerduty.com/incidents/PXXXXXXXXXXXXXXXXXXXXXXXXXX"
    assert wrap(f"see {url} now", 30).splitlines() == ["see", url, "now"]


def test_banner_like_text_within_the_width_is_unchanged() -> None:
    text = "  - who is on call?\nType help."
    assert wrap(text, 80) == text
