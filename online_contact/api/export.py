"""GET /api/export/{id}: the file of a finished 데이터 추출, for the login that made it.

The page fetches it with the login token in the Authorization header (assets/chat_input.js,
links marked data-authed-download): the URL alone gives nothing, another login (another agent's,
or the same agent's in another browser) gives nothing, and neither does the login once it ended
or lost the role it exported with.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse

from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import auth as auth_service
from online_contact.services import export as export_service
from online_contact.services.db import session_scope


def _refused() -> JSONResponse:
    # One answer for every refusal: no way to tell an existing export from a missing one.
    return JSONResponse({"error": "not_found"}, status_code=404, headers={"Cache-Control": "no-store"})


async def download(request: Request):
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    found = export_service.find(request.path_params.get("export_id", ""))
    if not token or len(token) > auth_service.MAX_TOKEN_LENGTH or found is None:
        return _refused()
    path, record = found
    with session_scope() as session:
        login = auth_service.login_for_token(session, token)
        agent = login[1] if login else None
        allowed = (
            agent is not None
            and agent.id == record.agent_id
            and login[0].id == record.login_id
            and (record.role != ROLE_ADMIN or agent.role == ROLE_ADMIN)
        )
    if not allowed or not path.exists():
        return _refused()
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(record.filename)}",
            "Cache-Control": "no-store",
        },
    )
