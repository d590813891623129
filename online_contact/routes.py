"""Route constants."""

HELP_CENTER = "/"
INQUIRY = "/inquiry"
WIDGET = "/widget"
LOGIN = "/login"
AGENT = "/agent"
TICKETS = "/agent/tickets"
