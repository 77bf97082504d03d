"""Seed the topics people can pick, each with a motion for debates."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

_topics = sa.table(
    "topics",
    sa.column("slug", sa.String),
    sa.column("title", sa.String),
    sa.column("description", sa.Text),
    sa.column("motion", sa.Text),
)

TOPICS = [
    (
        "remote-work",
        "Remote work",
        "Offices, home offices and everything between: what work loses and gains at a distance.",
        "This house believes that remote work should be the default for office jobs.",
    ),
    (
        "social-media",
        "Social media",
        "Feeds, followers and attention: how social platforms shape friendship and news.",
        "This house would ban social media accounts for children under 16.",
    ),
    (
        "ai-and-jobs",
        "AI and jobs",
        "What automation by machine learning means for work, wages and training.",
        "This house believes that artificial intelligence will create more jobs than it destroys.",
    ),
    (
        "climate-policy",
        "Climate policy",
        "Carbon prices, subsidies, bans: which tools cut emissions fairly and fast.",
        "This house supports a global carbon tax.",
    ),
    (
        "nuclear-energy",
        "Nuclear energy",
        "Reactors, waste and cost: the place of nuclear power in a low-carbon grid.",
        "This house believes that nuclear power is essential to reaching net zero.",
    ),
    (
        "universal-basic-income",
        "Universal basic income",
        "An unconditional income for every adult: safety net, incentive problem, or both.",
        "This house would introduce a universal basic income.",
    ),
    (
        "four-day-week",
        "The four-day week",
        "Working less for the same pay: productivity, well-being and who can afford it.",
        "This house would legislate for a four-day working week.",
    ),
    (
        "space-exploration",
        "Space exploration",
        "Moon bases, Mars missions and telescopes: what we gain from going up there.",
        "This house believes that public money for crewed space flight is well spent.",
    ),
    (
        "city-cars",
        "Cars in cities",
        "Streets for cars, bikes, buses or people: how cities should move.",
        "This house would ban private cars from city centres.",
    ),
    (
        "school-homework",
        "Homework",
        "Practice at home or time to play: what homework does for learning.",
        "This house would abolish homework in primary schools.",
    ),
    (
        "meat-eating",
        "Eating meat",
        "Animal welfare, health, climate and culture on the dinner plate.",
        "This house believes that eating meat is morally wrong.",
    ),
    (
        "voting-age",
        "Voting age",
        "Who gets a say: teenagers, turnout and political maturity.",
        "This house would lower the voting age to 16.",
    ),
    (
        "online-privacy",
        "Online privacy",
        "Tracking, encryption and data brokers: how much privacy we owe each other online.",
        "This house believes that targeted advertising should be banned.",
    ),
    (
        "tourism",
        "Mass tourism",
        "Crowded old towns, cheap flights and local economies: travel's costs and gifts.",
        "This house would cap visitor numbers in popular cities.",
    ),
]


def upgrade() -> None:
    op.bulk_insert(
        _topics,
        [
            {"slug": slug, "title": title, "description": description, "motion": motion}
            for slug, title, description, motion in TOPICS
        ],
    )


def downgrade() -> None:
    op.execute(_topics.delete().where(_topics.c.slug.in_([t[0] for t in TOPICS])))
