"""services.categories (처리유형 tree) and services.settings."""

from __future__ import annotations

import pytest
from sqlmodel import select

from online_contact.models import Category, ChatSettings, ChatSettingsText
from online_contact.models.settings import ASSIGN_BALANCED
from online_contact.services import categories as category_service
from online_contact.services import settings as settings_service
from online_contact.services.errors import ServiceError
from online_contact.services.seed import GREETING, SATISFACTION


def by_name(session, name: str) -> Category:
    return session.exec(select(Category).where(Category.name == name)).one()


def deactivate(session, name: str) -> None:
    cat = by_name(session, name)
    cat.active = False
    session.add(cat)
    session.commit()


# --------------------------------------------------------------------------------------------
# categories
# --------------------------------------------------------------------------------------------


def test_add_category_sets_depth_and_position(empty_session, make_empty):
    s = empty_session
    top = category_service.add_category(s, "  주문 ")
    other_top = category_service.add_category(s, "계정")
    mid = category_service.add_category(s, "배송", top.id)
    leaf1 = category_service.add_category(s, "배송지연", mid.id)
    leaf2 = category_service.add_category(s, "파손", mid.id)
    assert top.name == "주문"
    assert [(c.depth, c.position) for c in (top, other_top, mid, leaf1, leaf2)] == [
        (1, 0),
        (1, 1),
        (2, 0),
        (3, 0),
        (3, 1),
    ]
    assert (mid.parent_id, leaf1.parent_id) == (top.id, mid.id)


def test_add_category_depth_limit_is_three(session, make):
    leaf = by_name(session, "배송지연")
    assert leaf.depth == 3
    before = make.count(Category)
    with pytest.raises(ServiceError) as err:
        category_service.add_category(session, "너무 깊음", leaf.id)
    assert err.value.code == "error.category_too_deep"
    assert err.value.params == {"max": 3}
    session.rollback()
    assert make.count(Category) == before


@pytest.mark.parametrize(
    ("name", "parent_id", "code"),
    [("", None, "error.category_name_required"), ("   ", None, "error.category_name_required"),
     ("고아", 999999, "error.category_not_found")],
)
def test_add_category_validation(session, make, name, parent_id, code):
    before = make.count(Category)
    with pytest.raises(ServiceError) as err:
        category_service.add_category(session, name, parent_id)
    assert err.value.code == code
    session.rollback()
    assert make.count(Category) == before


def test_active_tree_of_demo_data_is_ordered_parents_first(session):
    tree = category_service.active_tree(session)
    assert len(tree) == 3 + 5 + 10
    seen: set[int] = set()
    for node in tree:
        assert set(node) == {"id", "name", "parent_id", "depth"}
        assert node["parent_id"] is None or node["parent_id"] in seen
        seen.add(node["id"])
    assert [n["name"] for n in tree if n["depth"] == 1] == ["주문", "환불/취소", "계정"]


def test_active_tree_hides_deactivated_node_and_its_children(session):
    deactivate(session, "배송")
    names = {n["name"] for n in category_service.active_tree(session)}
    assert "배송" not in names
    assert not names & {"배송지연", "배송지 변경", "파손"}
    assert {"주문", "결제", "결제 오류", "영수증"} <= names


def test_active_tree_hides_grandchildren_of_deactivated_top(session):
    deactivate(session, "주문")
    names = {n["name"] for n in category_service.active_tree(session)}
    assert not names & {"주문", "배송", "결제", "배송지연", "배송지 변경", "파손", "결제 오류", "영수증"}
    assert {"환불/취소", "환불", "환불 요청", "계정", "로그인", "비밀번호 찾기"} <= names


def test_active_tree_hides_a_deactivated_leaf_only(session):
    deactivate(session, "파손")
    names = [n["name"] for n in category_service.active_tree(session)]
    assert "파손" not in names
    assert "배송지연" in names and "배송" in names


def test_path_ids_and_label(session):
    top, mid, leaf = (by_name(session, n) for n in ("주문", "배송", "배송지연"))
    assert category_service.path_ids(session, leaf.id) == [top.id, mid.id, leaf.id]
    assert category_service.path_ids(session, mid.id) == [top.id, mid.id]
    assert category_service.path_ids(session, top.id) == [top.id]
    assert category_service.path_ids(session, None) == []
    assert category_service.path_ids(session, 999999) == []
    assert category_service.path_label(session, leaf.id) == "주문 › 배송 › 배송지연"
    assert category_service.path_label(session, by_name(session, "환불 요청").id) == "환불/취소 › 환불 › 환불 요청"
    assert category_service.path_label(session, None) == ""


# --------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------


def test_get_settings_creates_defaults_once(empty_session, make_empty):
    s = empty_session
    assert make_empty.count(ChatSettings) == 0
    first = settings_service.get_settings(s)
    s.commit()
    second = settings_service.get_settings(s)
    assert first.id == second.id
    assert make_empty.count(ChatSettings) == 1
    assert (first.chat_enabled, first.prefer_recent_agent, first.assignment_method) == (True, True, ASSIGN_BALANCED)
    assert settings_service.texts(s, first, "ko") is None


def test_settings_texts_per_language(session):
    settings = settings_service.get_settings(session)
    ko = settings_service.texts(session, settings, "ko")
    en = settings_service.texts(session, settings, "en")
    assert (ko.greeting, ko.satisfaction_guide) == (GREETING["ko"], SATISFACTION["ko"])
    assert (en.greeting, en.satisfaction_guide) == (GREETING["en"], SATISFACTION["en"])


@pytest.mark.parametrize("language", ["ja", "zh", "", "EN-us"])
def test_settings_texts_fall_back_to_korean(session, language):
    settings = settings_service.get_settings(session)
    texts = settings_service.texts(session, settings, language)
    assert texts.language == "ko"
    assert texts.greeting == GREETING["ko"]


def test_english_falls_back_to_korean_when_not_configured(empty_session):
    s = empty_session
    settings = settings_service.get_settings(s)
    settings_service.set_texts(s, settings, "ko", "안녕하세요", "평가해 주세요")
    assert settings_service.texts(s, settings, "en").greeting == "안녕하세요"


def test_set_texts_replaces_and_trims(session, make):
    settings = settings_service.get_settings(session)
    before = make.count(ChatSettingsText)
    settings_service.set_texts(session, settings, "en", "  Hi there  ", " Rate us ")
    session.commit()
    assert make.count(ChatSettingsText) == before  # replaced, not added
    en = settings_service.texts(session, settings, "en")
    assert (en.greeting, en.satisfaction_guide) == ("Hi there", "Rate us")
    assert settings_service.texts(session, settings, "ko").greeting == GREETING["ko"]


def test_settings_of_other_service_are_separate(session, make):
    default = settings_service.get_settings(session)
    other = settings_service.get_settings(session, "shop-b")
    session.commit()
    assert other.id != default.id
    assert settings_service.texts(session, other, "ko") is None
