"""The device (browser and OS) of a user agent, parsed by the maintained `user-agents` library."""

from user_agents import parse


def describe_device(user_agent: str) -> str:
    """'Chrome 131 / Windows 10 (PC)' style text; '' for an empty user agent."""
    if not user_agent:
        return ""
    ua = parse(user_agent)
    browser = f"{ua.browser.family} {ua.browser.version_string}".strip()
    os_name = f"{ua.os.family} {ua.os.version_string}".strip()
    kind = "Mobile" if ua.is_mobile else "Tablet" if ua.is_tablet else "Bot" if ua.is_bot else "PC"
    return f"{browser} / {os_name} ({kind})"[:200]
