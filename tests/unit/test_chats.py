"""services.chats and services.messages: start, messages, opening, info, rating, ending, 처리/미처리."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from online_contact.models import Agent, Category, Chat, ConsentRecord, Customer, Message, Rating
from online_contact.models._base import utcnow
from online_contact.models.agent import STATUS_ONLINE
from online_contact.models.chat import AUTHOR_AGENT, AUTHOR_CUSTOMER, AUTHOR_SYSTEM, CHAT_ENDED, CHAT_OPEN, CHAT_WAITING
from online_contact.services import agents as agent_service
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service
from online_contact.services import customers as customer_service
from online_contact.services import routing
from online_contact.services import settings as settings_service
from online_contact.services.db import engine
from online_contact.services.devices import describe_device
from online_contact.services.errors import NotAllowed, ServiceError
from online_contact.services.seed import GREETING, SATISFACTION

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def messages_of(session: Session, chat_id: int) -> list[Message]:
    session.commit()
    return list(session.exec(select(Message).where(Message.chat_id == chat_id).order_by(Message.seq)))


@pytest.fixture
def agent(make) -> Agent:
    make.offline_demo_agents()
    return make.agent("assigned")


@pytest.fixture
def chat(make, agent) -> Chat:
    """An open chat assigned to `agent` (the only agent Online)."""
    chat = make.start(name="홍길동", email="hong@example.com")
    assert chat.agent_id == agent.id and chat.status == CHAT_OPEN
    return chat


# --------------------------------------------------------------------------------------------
# consent and start
# --------------------------------------------------------------------------------------------


def test_refused_consent_raises_and_stores_nothing(session, make):
    customer = make.customer()
    with pytest.raises(ServiceError) as err:
        customer_service.record_consent(session, customer, False, "10.0.0.1")
    assert err.value.code == "consent.required"
    session.commit()
    assert make.count(ConsentRecord) == 0


def test_record_consent_stores_version_customer_and_ip(session, make):
    from online_contact.config import CONSENT_VERSION

    customer = make.customer()
    record = customer_service.record_consent(session, customer, True, "1" * 100, language="en")
    session.commit()
    stored = make.reload(ConsentRecord, record.id)
    assert (stored.customer_id, stored.version, stored.language) == (customer.id, CONSENT_VERSION, "en")
    assert stored.ip == "1" * 64


def test_start_chat_without_consent_is_refused(session, make):
    customer = make.customer()
    with pytest.raises(ServiceError) as err:
        chat_service.start_chat(session, customer, None)
    assert err.value.code == "consent.required"
    session.rollback()
    assert make.count(Chat) == 0
    assert make.count(Message) == 0


def test_start_chat_with_consent_of_another_customer_is_refused(session, make):
    someone_else = make.customer()
    consent = customer_service.record_consent(session, someone_else, True, "")
    session.commit()
    customer = make.customer()
    with pytest.raises(ServiceError) as err:
        chat_service.start_chat(session, customer, consent)
    assert err.value.code == "consent.required"
    session.rollback()
    assert make.count(Chat) == 0


def test_start_chat_with_invalid_email_stores_nothing(session, make):
    customer = make.customer()
    consent = customer_service.record_consent(session, customer, True, "")
    session.commit()
    with pytest.raises(ServiceError) as err:
        chat_service.start_chat(session, customer, consent, email="not-an-email")
    assert err.value.code == "error.email_invalid"
    session.rollback()
    assert make.count(Chat) == 0


@pytest.mark.parametrize(
    ("language", "stored_language", "greeting"),
    [("ko", "ko", GREETING["ko"]), ("en", "en", GREETING["en"]), ("ja", "ko", GREETING["ko"])],
)
def test_start_posts_greeting_in_chat_language(session, make, language, stored_language, greeting):
    chat = make.start(language=language)
    assert chat.language == stored_language
    msgs = messages_of(session, chat.id)
    assert len(msgs) == 1
    assert (msgs[0].seq, msgs[0].author, msgs[0].text) == (1, AUTHOR_SYSTEM, greeting)
    assert msgs[0].agent_id is None
    assert make.reload(Chat, chat.id).last_seq == 1


def test_start_without_greeting_text_posts_nothing(empty_session, make_empty):
    chat = make_empty.start()
    assert messages_of(empty_session, chat.id) == []
    assert chat.last_seq == 0


def test_start_stores_contact_channel_and_consent(session, make):
    customer = make.customer()
    consent = customer_service.record_consent(session, customer, True, "203.0.113.9")
    chat = chat_service.start_chat(
        session,
        customer,
        consent,
        name="  김철수 ",
        email=" Kim@Example.COM ",
        channel="https://shop.example.com/help",
        ip="203.0.113.9",
        user_agent=CHROME_WINDOWS,
    )
    chat = make.reload(Chat, chat.id)
    assert (chat.customer_name, chat.customer_email) == ("김철수", "kim@example.com")
    assert chat.channel == "https://shop.example.com/help"
    assert chat.ip == "203.0.113.9"
    assert chat.consent_id == consent.id
    assert chat.customer_id == customer.id
    stored_customer = make.reload(Customer, customer.id)
    assert (stored_customer.name, stored_customer.email) == ("김철수", "kim@example.com")
    assert make.start().channel == "helpcenter"


def test_describe_device_chrome_on_windows():
    assert describe_device(CHROME_WINDOWS) == "Chrome 131.0.0 / Windows 10 (PC)"


def test_describe_device_iphone_safari():
    text = describe_device(IPHONE_SAFARI)
    assert text.startswith("Mobile Safari 17.5 / iOS 17.5")
    assert text.endswith("(Mobile)")
    assert describe_device("") == ""


@pytest.mark.parametrize(
    ("user_agent", "parts"),
    [(CHROME_WINDOWS, ("Chrome 131", "Windows 10", "(PC)")), (IPHONE_SAFARI, ("Safari", "iOS 17.5", "(Mobile)"))],
    ids=["chrome-windows", "iphone-safari"],
)
def test_start_stores_device_of_user_agent(session, make, user_agent, parts):
    chat = make.reload(Chat, make.start(user_agent=user_agent).id)
    assert chat.user_agent == user_agent
    for part in parts:
        assert part in chat.device


# --------------------------------------------------------------------------------------------
# posting
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n", None])
def test_empty_message_is_rejected_and_not_stored(session, make, chat, text):
    with pytest.raises(ServiceError) as err:
        message_service.post_message(session, chat, AUTHOR_CUSTOMER, text)
    assert err.value.code == "error.message_empty"
    assert len(messages_of(session, chat.id)) == 1  # the greeting only
    assert make.reload(Chat, chat.id).last_seq == 1


def test_too_long_message_is_rejected_and_not_stored(session, make, chat):
    with pytest.raises(ServiceError) as err:
        message_service.post_message(session, chat, AUTHOR_CUSTOMER, "가" * 2001)
    assert err.value.code == "error.message_too_long"
    assert err.value.params["max"] == 2000
    assert len(messages_of(session, chat.id)) == 1
    assert make.reload(Chat, chat.id).last_seq == 1


def test_message_of_exactly_2000_characters_is_accepted_and_trimmed(session, make, chat):
    message, created = message_service.post_message(session, chat, AUTHOR_CUSTOMER, "  " + "가" * 2000 + "\n")
    assert created
    assert message.text == "가" * 2000


def test_seq_increments_per_chat(session, make, agent):
    chat_a = make.start()
    chat_b = make.start()
    seqs_a, seqs_b = [], []
    for i in range(3):
        seqs_a.append(message_service.post_message(session, chat_a, AUTHOR_CUSTOMER, f"a{i}")[0].seq)
        seqs_b.append(message_service.post_message(session, chat_b, AUTHOR_CUSTOMER, f"b{i}")[0].seq)
    # seq 1 is the greeting of each chat.
    assert seqs_a == [2, 3, 4]
    assert seqs_b == [2, 3, 4]
    assert [m.seq for m in messages_of(session, chat_a.id)] == [1, 2, 3, 4]
    assert make.reload(Chat, chat_a.id).last_seq == 4


def test_seq_starts_at_one_without_greeting(empty_session, make_empty):
    chat = make_empty.start()
    seqs = [message_service.post_message(empty_session, chat, AUTHOR_CUSTOMER, t)[0].seq for t in "xyz"]
    assert seqs == [1, 2, 3]


def test_same_client_msg_id_is_stored_once(session, make, chat):
    first, created1 = message_service.post_message(session, chat, AUTHOR_CUSTOMER, "hello", "cid-1")
    again, created2 = message_service.post_message(session, chat, AUTHOR_CUSTOMER, "hello (resent)", "cid-1")
    assert (created1, created2) == (True, False)
    assert again.id == first.id
    assert again.text == "hello"
    customer_msgs = [m for m in messages_of(session, chat.id) if m.author == AUTHOR_CUSTOMER]
    assert len(customer_msgs) == 1
    assert make.reload(Chat, chat.id).last_seq == 2


def test_same_client_msg_id_in_another_chat_is_a_new_message(session, make, agent):
    chat_a, chat_b = make.start(), make.start()
    m1, c1 = message_service.post_message(session, chat_a, AUTHOR_CUSTOMER, "hi", "shared-id")
    m2, c2 = message_service.post_message(session, chat_b, AUTHOR_CUSTOMER, "hi", "shared-id")
    assert c1 and c2 and m1.id != m2.id


def test_customer_cannot_post_after_ending(session, make, chat):
    chat_service.end_by_customer(session, chat)
    with pytest.raises(ServiceError) as err:
        message_service.post_message(session, make.reload(Chat, chat.id), AUTHOR_CUSTOMER, "still there?")
    assert err.value.code == "error.chat_ended"
    assert len(messages_of(session, chat.id)) == 1


def test_customer_cannot_post_after_agent_ended(session, make, chat, agent):
    chat_service.mark_opened(session, chat, agent)  # ending and rating need an opened chat
    chat_service.end_by_agent(session, chat, agent)
    with pytest.raises(ServiceError) as err:
        message_service.post_message(session, make.reload(Chat, chat.id), AUTHOR_CUSTOMER, "hello?")
    assert err.value.code == "error.chat_ended"


def test_agent_cannot_reply_after_customer_left_nor_after_ending(session, make, chat, agent):
    """A reply after the customer left would be stored and exported as if it had been read
    (issue 23): refused, with the reason; tests/unit/test_customer_left.py has the race."""
    chat_service.mark_opened(session, chat, agent)
    chat_service.end_by_customer(session, make.reload(Chat, chat.id))
    with pytest.raises(ServiceError) as err:
        message_service.post_message(session, make.reload(Chat, chat.id), AUTHOR_AGENT, "감사합니다", agent_id=agent.id)
    assert err.value.code == "error.customer_left"
    chat_service.end_by_agent(session, make.reload(Chat, chat.id), agent)
    with pytest.raises(ServiceError) as err:
        message_service.post_message(session, make.reload(Chat, chat.id), AUTHOR_AGENT, "more", agent_id=agent.id)
    assert err.value.code == "error.chat_ended"


def test_other_agent_cannot_post(session, make, chat, agent):
    intruder = make.agent("intruder")
    with pytest.raises(NotAllowed):
        message_service.post_message(session, chat, AUTHOR_AGENT, "hijack", agent_id=intruder.id)
    with pytest.raises(NotAllowed):
        message_service.post_message(session, chat, AUTHOR_AGENT, "anonymous", agent_id=None)
    assert len(messages_of(session, chat.id)) == 1
    assert make.reload(Chat, chat.id).first_agent_reply_at is None


def test_not_allowed_is_a_service_error_with_code():
    err = NotAllowed()
    assert isinstance(err, ServiceError) and err.code == "error.not_allowed"


# --------------------------------------------------------------------------------------------
# 처리 / 미처리
# --------------------------------------------------------------------------------------------


def test_processed_needs_both_open_and_reply_open_only(session, make, chat, agent):
    assert chat_service.processing_status(chat) == "unprocessed"
    chat_service.mark_opened(session, chat, agent)
    stored = make.reload(Chat, chat.id)
    assert stored.agent_opened_at is not None
    assert chat_service.processing_status(stored) == "unprocessed"
    message_service.post_message(session, stored, AUTHOR_AGENT, "안녕하세요", agent_id=agent.id)
    assert chat_service.processing_status(make.reload(Chat, chat.id)) == "processed"


def test_an_agent_replies_only_in_a_chat_they_opened(session, make, chat, agent):
    """A reply without opening the chat from the list cannot happen (the posting rules refuse
    it), so 처리 is never reached that way; and a chat handed back before it was opened was
    never readable or writable by its first agent."""
    with pytest.raises(NotAllowed):
        message_service.post_message(session, chat, AUTHOR_AGENT, "안녕하세요", agent_id=agent.id)
    stored = make.reload(Chat, chat.id)
    assert stored.first_agent_reply_at is None and chat_service.processing_status(stored) == "unprocessed"
    assert len(messages_of(session, chat.id)) == 1
    chat_service.mark_opened(session, stored, agent)
    message_service.post_message(session, make.reload(Chat, chat.id), AUTHOR_AGENT, "안녕하세요", agent_id=agent.id)
    assert chat_service.processing_status(make.reload(Chat, chat.id)) == "processed"


def test_customer_messages_alone_leave_chat_unprocessed(session, make, chat, agent):
    chat_service.mark_opened(session, chat, agent)
    message_service.post_message(session, chat, AUTHOR_CUSTOMER, "hello")
    assert chat_service.processing_status(make.reload(Chat, chat.id)) == "unprocessed"


def test_mark_opened_keeps_first_time_and_refuses_other_agent(session, make, chat, agent):
    chat_service.mark_opened(session, chat, agent)
    first = make.reload(Chat, chat.id).agent_opened_at
    chat_service.mark_opened(session, make.reload(Chat, chat.id), agent)
    assert make.reload(Chat, chat.id).agent_opened_at == first
    intruder = make.agent("intruder")
    with pytest.raises(NotAllowed):
        chat_service.mark_opened(session, make.reload(Chat, chat.id), intruder)


def test_first_agent_reply_at_only_set_by_agent_messages(session, make, chat, agent):
    # Greeting (system) is already there; a customer message and a rating request (system) follow.
    message_service.post_message(session, chat, AUTHOR_CUSTOMER, "문의드립니다")
    chat_service.mark_opened(session, make.reload(Chat, chat.id), agent)  # 평가 needs an opened chat
    chat_service.request_rating(session, make.reload(Chat, chat.id), agent)
    message_service.post_message(session, make.reload(Chat, chat.id), AUTHOR_SYSTEM, "system note")
    assert make.reload(Chat, chat.id).first_agent_reply_at is None

    reply, _ = message_service.post_message(session, make.reload(Chat, chat.id), AUTHOR_AGENT, "답변", agent_id=agent.id)
    first = make.reload(Chat, chat.id).first_agent_reply_at
    assert first == reply.created_at
    message_service.post_message(session, make.reload(Chat, chat.id), AUTHOR_AGENT, "추가 답변", agent_id=agent.id)
    assert make.reload(Chat, chat.id).first_agent_reply_at == first


# --------------------------------------------------------------------------------------------
# ending
# --------------------------------------------------------------------------------------------


def test_end_by_customer_keeps_chat_open_for_agent(session, make, chat, agent):
    chat_service.end_by_customer(session, chat)
    stored = make.reload(Chat, chat.id)
    assert stored.status == CHAT_ENDED  # ended for 통계 and 채팅 기록 (issue 23), on the agent's screen still
    assert stored.customer_ended_at is not None
    assert stored.agent_ended_at is None
    first_end = stored.customer_ended_at
    chat_service.end_by_customer(session, stored)  # pressed twice: the first time counts
    assert make.reload(Chat, chat.id).customer_ended_at == first_end
    assert [c.id for c in chat_service.chats_of_agent(session, agent.id)] == [chat.id]
    # Still on the agent's screen, but no longer one of their slots (issue 23).
    assert make.reload(Agent, agent.id).open_chat_count == 0


def test_end_by_customer_of_waiting_chat_closes_it(session, make):
    make.offline_demo_agents()
    chat = make.start()
    assert chat.status == CHAT_WAITING
    chat_service.end_by_customer(session, chat)
    stored = make.reload(Chat, chat.id)
    assert stored.status == CHAT_ENDED and stored.agent_id is None
    assert routing.waiting_chat_ids(session) == []


def test_end_by_agent_ends_chat_and_frees_slot(session, make, chat, agent):
    other_chat = make.start()
    assert other_chat.agent_id == agent.id
    assert make.reload(Agent, agent.id).open_chat_count == 2

    chat_service.mark_opened(session, chat, agent)  # ending and rating need an opened chat
    assert chat_service.end_by_agent(session, chat, agent) == []
    stored = make.reload(Chat, chat.id)
    assert stored.status == CHAT_ENDED
    assert stored.agent_ended_at is not None
    assert make.reload(Agent, agent.id).open_chat_count == 1
    assert [c.id for c in chat_service.chats_of_agent(session, agent.id)] == [other_chat.id]

    # Ending twice frees nothing more.
    assert chat_service.end_by_agent(session, make.reload(Chat, chat.id), agent) == []
    assert make.reload(Agent, agent.id).open_chat_count == 1


def test_end_by_agent_refuses_other_agent(session, make, chat, agent):
    intruder = make.agent("intruder")
    with pytest.raises(NotAllowed):
        chat_service.end_by_agent(session, chat, intruder)
    assert make.reload(Chat, chat.id).status == CHAT_OPEN
    with pytest.raises(NotAllowed):
        chat_service.chat_for_agent(session, chat.id, intruder)
    assert chat_service.chat_for_agent(session, chat.id, agent).id == chat.id


def test_end_by_agent_assigns_queued_chat_to_freed_slot(session, make):
    make.offline_demo_agents()
    agent = make.agent("solo", max_open_chats=1)
    first = make.start()
    queued = make.start()
    assert first.agent_id == agent.id
    assert queued.status == CHAT_WAITING

    chat_service.mark_opened(session, first, agent)
    assignments = chat_service.end_by_agent(session, first, agent)
    assert [(a.chat_id, a.agent_id) for a in assignments] == [(queued.id, agent.id)]
    assert make.reload(Chat, queued.id).status == CHAT_OPEN
    assert make.reload(Agent, agent.id).open_chat_count == 1


def test_end_by_customer_with_stale_chat_does_not_end_a_chat_just_assigned(db_url, session, make):
    """end_by_customer writes status from the chat object it was given: when another worker assigned
    the chat between the read and the write, the chat must stay open for its agent."""
    make.offline_demo_agents()
    agent = make.agent("late", status="offline")
    chat = make.start()  # read by the customer's worker while waiting
    assert chat.status == CHAT_WAITING

    with Session(engine(db_url), expire_on_commit=False) as other_worker:
        late = other_worker.get(Agent, agent.id)
        assigned = agent_service.set_status(other_worker, late, STATUS_ONLINE).assignments
    assert [a.chat_id for a in assigned] == [chat.id]

    chat_service.end_by_customer(session, chat)  # `chat` still says waiting

    stored = make.reload(Chat, chat.id)
    assert stored.agent_id == agent.id
    # The customer's end gave the slot back; the chat stays on the agent's chat screen (to close it).
    assert make.reload(Agent, agent.id).open_chat_count == 0
    assert stored.status == CHAT_ENDED and stored.agent_ended_at is None
    assert [c.id for c in chat_service.chats_of_agent(session, agent.id)] == [chat.id]


# --------------------------------------------------------------------------------------------
# info, rating
# --------------------------------------------------------------------------------------------


@pytest.fixture
def leaf_category(session) -> Category:
    return session.exec(select(Category).where(Category.name == "배송지연")).one()


def test_save_info_updates_chat_and_customer(session, make, chat, agent, leaf_category):
    chat_service.save_info(
        session, chat, agent, name=" 이영희 ", email="YOUNG@Example.com ", memo=" VIP ", category_id=leaf_category.id
    )
    stored = make.reload(Chat, chat.id)
    assert (stored.customer_name, stored.customer_email, stored.memo, stored.category_id) == (
        "이영희",
        "young@example.com",
        "VIP",
        leaf_category.id,
    )
    customer = make.reload(Customer, chat.customer_id)
    assert (customer.name, customer.email, customer.memo) == ("이영희", "young@example.com", "VIP")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"email": "bad@"}, "error.email_invalid"),
        ({"email": "two@@example.com"}, "error.email_invalid"),
        ({"category_id": 999999}, "error.category_not_found"),
        ({"memo": "m" * 2001}, "error.memo_too_long"),
        ({"name": "n" * 101}, "error.name_too_long"),
    ],
)
def test_save_info_validates_and_changes_nothing(session, make, chat, agent, kwargs, code):
    args = {"name": "새이름", "email": "new@example.com", "memo": "memo", "category_id": None} | kwargs
    with pytest.raises(ServiceError) as err:
        chat_service.save_info(session, chat, agent, **args)
    assert err.value.code == code
    session.rollback()
    stored = make.reload(Chat, chat.id)
    assert (stored.customer_name, stored.customer_email, stored.memo, stored.category_id) == (
        "홍길동",
        "hong@example.com",
        "",
        None,
    )
    assert make.reload(Customer, chat.customer_id).name == "홍길동"


def test_save_info_rejects_deactivated_category(session, make, chat, agent, leaf_category):
    leaf_category.active = False
    session.add(leaf_category)
    session.commit()
    with pytest.raises(ServiceError) as err:
        chat_service.save_info(session, chat, agent, name="", email="", memo="", category_id=leaf_category.id)
    assert err.value.code == "error.category_not_found"


def test_save_info_other_agent_refused_admin_allowed(session, make, chat, agent):
    intruder = make.agent("intruder")
    with pytest.raises(NotAllowed):
        chat_service.save_info(session, chat, intruder, name="x", email="", memo="", category_id=None)
    admin = make.demo_agent("admin@example.com")
    chat_service.save_info(session, chat, admin, name="관리자수정", email="", memo="", category_id=None)
    assert make.reload(Chat, chat.id).customer_name == "관리자수정"


@pytest.mark.parametrize("language", ["ko", "en"])
def test_request_rating_posts_guide_and_flags_request(session, make, agent, language):
    chat = make.start(language=language)
    chat_service.mark_opened(session, chat, agent)  # ending and rating need an opened chat
    before = utcnow()
    message = chat_service.request_rating(session, chat, agent)
    assert (message.author, message.text, message.seq) == (AUTHOR_SYSTEM, SATISFACTION[language], 2)
    stored = make.reload(Chat, chat.id)
    assert stored.rating_requested_by == agent.id
    assert stored.rating_requested_at is not None and stored.rating_requested_at >= before
    assert stored.last_seq == 2


def test_request_rating_refused_for_other_agent_and_after_end(session, make, chat, agent):
    intruder = make.agent("intruder")
    with pytest.raises(NotAllowed):
        chat_service.request_rating(session, chat, intruder)
    chat_service.mark_opened(session, chat, agent)  # ending and rating need an opened chat
    chat_service.end_by_agent(session, chat, agent)
    with pytest.raises(ServiceError) as err:
        chat_service.request_rating(session, make.reload(Chat, chat.id), agent)
    assert err.value.code == "error.chat_ended"
    assert make.reload(Chat, chat.id).rating_requested_by is None
    assert len(messages_of(session, chat.id)) == 1


def test_ending_and_rating_need_a_chat_the_agent_opened(session, make, chat, agent):
    """Issue 23: a 대화 종료 or 평가 sent for a chat its agent never opened (a forged event) is
    refused and changes nothing: 통계 would book the agent's 무응답 as the customer's 대기 중 이탈.
    The rule is in the conditional UPDATE too, so a stale copy that says "opened" is refused."""
    from sqlalchemy.orm.attributes import set_committed_value

    before = make.reload(Chat, chat.id).model_dump()
    for act in (chat_service.end_by_agent, chat_service.request_rating):
        with pytest.raises(NotAllowed) as err:
            act(session, make.reload(Chat, chat.id), agent)
        assert err.value.code == "error.chat_not_opened"
        # A copy read as opened (without the row saying so): the UPDATE's WHERE refuses it.
        stale = make.reload(Chat, chat.id)
        set_committed_value(stale, "agent_opened_at", utcnow())
        with pytest.raises(NotAllowed):
            act(session, stale, agent)
    assert make.reload(Chat, chat.id).model_dump() == before
    assert make.reload(Agent, agent.id).open_chat_count == 1
    assert len(messages_of(session, chat.id)) == 1  # no satisfaction guide posted

    # Once opened, both work.
    chat_service.mark_opened(session, make.reload(Chat, chat.id), agent)
    chat_service.request_rating(session, make.reload(Chat, chat.id), agent)
    chat_service.end_by_agent(session, make.reload(Chat, chat.id), agent)
    assert make.reload(Chat, chat.id).status == CHAT_ENDED


@pytest.mark.parametrize("score", [0, 6, -1, "x", None, "", 2.7, True, "4.5"])
def test_rate_rejects_scores_outside_one_to_five(session, make, chat, score):
    with pytest.raises(ServiceError) as err:
        chat_service.rate(session, chat, score)
    assert err.value.code == "error.rating_score"
    session.rollback()
    assert make.count(Rating) == 0


@pytest.mark.parametrize("score", [1, 5, "4"])
def test_rate_accepts_one_to_five(session, make, chat, score):
    rating = chat_service.rate(session, chat, score, "  좋았어요 ")
    stored = make.reload(Rating, rating.id)
    assert stored.score == int(score)
    assert stored.comment == "좋았어요"
    assert stored.chat_id == chat.id
    assert stored.requested_by_agent_id is None  # the customer rated on their own


def test_rate_after_request_stores_requesting_agent(session, make, chat, agent):
    chat_service.mark_opened(session, chat, agent)  # ending and rating need an opened chat
    chat_service.request_rating(session, chat, agent)
    chat_service.rate(session, make.reload(Chat, chat.id), 2)
    rating = chat_service.rate(session, make.reload(Chat, chat.id), 4)
    assert make.reload(Rating, rating.id).requested_by_agent_id == agent.id
    latest = chat_service.latest_rating(session, chat.id)
    assert (latest.id, latest.score) == (rating.id, 4)


def test_rate_rejects_overlong_comment(session, make, chat):
    with pytest.raises(ServiceError) as err:
        chat_service.rate(session, chat, 5, "c" * 1001)
    assert err.value.code == "error.comment_too_long"
    session.rollback()
    assert make.count(Rating) == 0


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------


def test_messages_after_and_recent_messages_order(session, make, chat, agent):
    chat_service.mark_opened(session, chat, agent)
    for i in range(5):
        author = AUTHOR_CUSTOMER if i % 2 == 0 else AUTHOR_AGENT
        message_service.post_message(session, chat, author, f"m{i}", agent_id=agent.id if author == AUTHOR_AGENT else None)
    # seq 1 greeting, 2..6 = m0..m4
    after = message_service.messages_after(session, chat.id, 3)
    assert [(m.seq, m.text) for m in after] == [(4, "m2"), (5, "m3"), (6, "m4")]
    assert message_service.messages_after(session, chat.id, 6) == []
    assert [m.seq for m in message_service.messages_after(session, chat.id, 0, limit=2)] == [1, 2]

    recent = message_service.recent_messages(session, chat.id, limit=3)
    assert [m.text for m in recent] == ["m2", "m3", "m4"]
    assert [m.seq for m in message_service.recent_messages(session, chat.id)] == [1, 2, 3, 4, 5, 6]
    view = recent[-1].as_dict()
    assert set(view) == {"seq", "author", "text", "time", "client_msg_id"}
    assert view["author"] == AUTHOR_CUSTOMER and len(view["time"]) == 5


def test_messages_of_other_chats_are_not_mixed_in(session, make, chat, agent):
    other = make.start()
    message_service.post_message(session, other, AUTHOR_CUSTOMER, "other chat")
    assert [m.text for m in message_service.messages_after(session, chat.id, 0)] == [GREETING["ko"]]


def test_open_chat_of_customer(session, make, agent):
    customer = make.customer()
    assert chat_service.open_chat_of_customer(session, customer) is None
    first = make.start(customer)
    assert chat_service.open_chat_of_customer(session, customer).id == first.id
    chat_service.end_by_customer(session, first)
    assert chat_service.open_chat_of_customer(session, customer) is None
    second = make.start(customer)
    assert chat_service.open_chat_of_customer(session, customer).id == second.id
    make.start()  # another customer's chat
    assert chat_service.open_chat_of_customer(session, customer).id == second.id


def test_open_chat_of_customer_after_agent_ended_only_for_30_minutes(session, make, agent):
    customer = make.customer()
    chat = make.start(customer)
    chat_service.mark_opened(session, chat, agent)  # ending and rating need an opened chat
    chat_service.end_by_agent(session, chat, agent)
    # The customer still sees the closing lines right after the agent ended the chat...
    assert chat_service.open_chat_of_customer(session, customer).id == chat.id
    stored = make.reload(Chat, chat.id)
    stored.agent_ended_at = utcnow() - timedelta(minutes=29)
    session.add(stored)
    session.commit()
    assert chat_service.open_chat_of_customer(session, customer).id == chat.id
    # ...but not half an hour later.
    stored.agent_ended_at = utcnow() - timedelta(minutes=31)
    session.add(stored)
    session.commit()
    assert chat_service.open_chat_of_customer(session, customer) is None


def test_messages_before_pages_older_messages(session, make, chat):
    for i in range(5):
        message_service.post_message(session, chat, AUTHOR_CUSTOMER, f"m{i}")
    # seq 1 greeting, 2..6 = m0..m4
    assert [m.seq for m in message_service.messages_before(session, chat.id, 5)] == [1, 2, 3, 4]
    assert [m.text for m in message_service.messages_before(session, chat.id, 6, limit=2)] == ["m2", "m3"]
    assert message_service.messages_before(session, chat.id, 1) == []


def test_transcript_pages_are_bounded_by_size_and_cover_every_message_once(session, make, chat):
    """A page holds at most PAGE_BYTES of text (with a per-message allowance), always at least one
    message, and says whether more is left; walked forwards (catch-up) or backwards (이전 메시지
    보기) the pages return every message exactly once, in order."""
    from online_contact.services.messages import PAGE_BYTES, PAGE_OVERHEAD, page_after, page_before

    long_text = "가" * 2000  # 6,000 bytes of UTF-8
    for i in range(40):
        message_service.post_message(session, chat, AUTHOR_CUSTOMER, f"{i:03d}" + long_text[3:] if i % 3 else f"짧은 {i}")
    stored = [(m.seq, m.text) for m in message_service.messages_after(session, chat.id, 0, 1000)]

    def size(text):
        return len(text.encode()) + PAGE_OVERHEAD

    seen, after, pages = [], 0, 0
    while True:
        page, more = page_after(session, chat.id, after)
        assert page and (len(page) == 1 or sum(size(m.text) for m in page) <= PAGE_BYTES)
        seen += [(m.seq, m.text) for m in page]
        after, pages = page[-1].seq, pages + 1
        if not more:
            break
    assert seen == stored and pages > 1
    back, before = [], stored[-1][0] + 1
    while True:
        page, more = page_before(session, chat.id, before)
        assert page and sum(size(m.text) for m in page) <= PAGE_BYTES
        back = [(m.seq, m.text) for m in page] + back
        before = page[0].seq
        if not more:
            break
    assert back == stored
    # A range with an upper end (a gap between what a tab has and its live window), and a bound
    # smaller than one message: still one message a page.
    page, more = page_after(session, chat.id, 2, before_seq=6, max_bytes=10)
    assert [m.seq for m in page] == [3] and more
    assert page_after(session, chat.id, stored[-1][0]) == ([], False)
    assert page_before(session, chat.id, 1) == ([], False)


def test_chats_of_agent_lists_only_open_chats_in_assignment_order(session, make, agent):
    c1 = make.start()
    c2 = make.start()
    c3 = make.start()
    chat_service.mark_opened(session, c2, agent)
    chat_service.end_by_agent(session, c2, agent)
    assert [c.id for c in chat_service.chats_of_agent(session, agent.id)] == [c1.id, c3.id]


def test_greeting_settings_fallback_used_by_start(session, make):
    settings = settings_service.get_settings(session)
    settings_service.set_texts(session, settings, "ko", "안녕", "만족?")
    session.commit()
    assert messages_of(session, make.start(language="ko").id)[0].text == "안녕"


def test_agent_post_without_an_agent_id_is_refused_even_on_an_unassigned_chat(session, make):
    customer = make.customer()
    waiting = make.waiting_chat(customer)  # no agent yet
    with pytest.raises(NotAllowed):
        message_service.post_message(session, waiting, "agent", "누가 보냈나요", agent_id=None)
    session.rollback()
    assert make.reload(Chat, waiting.id).first_agent_reply_at is None


def test_message_times_are_shown_in_korean_time(monkeypatch):
    from datetime import datetime, timezone

    from online_contact.config import local_time

    moment = datetime(2026, 11, 25, 1, 30, tzinfo=timezone.utc)
    assert local_time(moment) == "10:30"
    monkeypatch.setenv("OC_TIMEZONE", "UTC")
    assert local_time(moment) == "01:30"


# --------------------------------------------------------------------------------------------
# the posting gates: one query decides whether this tab may post to this chat
# --------------------------------------------------------------------------------------------


def test_chat_for_visitor_only_for_the_customer_holding_the_key(session, make, chat):
    customer = session.get(Customer, chat.customer_id)
    gate = message_service.chat_for_visitor(session, chat.id, customer.visitor_key)
    assert gate is not None and gate.id == chat.id and gate.agent_id == chat.agent_id
    stranger = make.customer()
    assert message_service.chat_for_visitor(session, chat.id, stranger.visitor_key) is None
    assert message_service.chat_for_visitor(session, chat.id, "") is None
    assert message_service.chat_for_visitor(session, 0, customer.visitor_key) is None


def test_gate_row_posts_like_a_chat(session, make, chat):
    customer = session.get(Customer, chat.customer_id)
    gate = message_service.chat_for_visitor(session, chat.id, customer.visitor_key)
    message, created = message_service.post_message(session, gate, AUTHOR_CUSTOMER, "행 하나로 보냄", "gate-1")
    assert created and message.seq == 2 and message.id
    assert [m.text for m in messages_of(session, chat.id)][-1] == "행 하나로 보냄"
    chat_service.end_by_customer(session, make.reload(Chat, chat.id))
    ended = message_service.chat_for_visitor(session, chat.id, customer.visitor_key)
    with pytest.raises(ServiceError) as err:
        message_service.post_message(session, ended, AUTHOR_CUSTOMER, "끝난 뒤")
    assert err.value.code == "error.chat_ended"


def test_chat_for_agent_token_checks_login_expiry_activity_and_assignment(session, make, chat, agent):
    from online_contact.services import auth as auth_service

    token = auth_service.start_session(session, agent)
    session.commit()
    assert message_service.chat_for_agent_token(session, chat.id, token) is None  # not opened yet
    chat_service.mark_opened(session, chat, agent)
    gate = message_service.chat_for_agent_token(session, chat.id, token)
    assert gate is not None and gate.id == chat.id and gate.agent_id == agent.id

    other = make.agent("other")
    other_token = auth_service.start_session(session, other)
    session.commit()
    assert message_service.chat_for_agent_token(session, chat.id, other_token) is None  # not theirs
    assert message_service.chat_for_agent_token(session, chat.id, "not-a-token") is None

    expired = auth_service.start_session(session, agent, hours=-1)
    session.commit()
    assert message_service.chat_for_agent_token(session, chat.id, expired) is None

    agent.active = False
    session.add(agent)
    session.commit()
    assert message_service.chat_for_agent_token(session, chat.id, token) is None


def test_duplicate_client_id_does_not_use_up_a_sequence_number(session, make, chat):
    message_service.post_message(session, chat, AUTHOR_CUSTOMER, "one", "dup")
    message_service.post_message(session, chat, AUTHOR_CUSTOMER, "one again", "dup")
    third, _ = message_service.post_message(session, chat, AUTHOR_CUSTOMER, "two", "next")
    assert third.seq == 3
    assert [m.seq for m in messages_of(session, chat.id)] == [1, 2, 3]
