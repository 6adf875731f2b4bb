from conftest import CARD_QUESTION, SEED_ID


def test_card_question_finds_the_military_base_passage(assistant, seed_article):
    top = assistant.search(CARD_QUESTION)[0]
    assert top.article_id == SEED_ID
    assert "lacks a military base near Libya" in top.text
    assert seed_article.text[top.start:top.end] == top.text
