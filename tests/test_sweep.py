"""The page sweep: one board holding every state, every GET route opened by every kind of
visitor in Chinese and in English.

Each response must have the status the table below gives for its (route, state, visitor);
no page may fail; a Chinese page shows no English interface words and an English page no
Chinese ones (what users wrote is taken out first); the organisation behind an anonymous
demand is named only to its own members, to staff and to a supplier whose reply it
shortlisted; a draft shows nowhere outside its organisation, a demand never published
nowhere outside it and staff; and no GET changes a stored record.

A new GET route fails ``test_every_get_route_is_in_the_table`` until it has rows here; a new
state of a record joins by adding it to ``build_board`` and one row per route that takes it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import sqlalchemy as sa

from board.extensions import db
from board.models import (
    Demand,
    DemandStatus,
    Match,
    MatchStatus,
    Organization,
    ReplyStatus,
    Role,
    User,
)
from board.services import accounts, capabilities, demands, matches, replies, seeding
from tests.factories import PASSWORD, board_today

# -- who visits ------------------------------------------------------------------------
# anon: not signed in.  co_a, co_a2: two members of the firm that posted most demands.
# co_b: another firm (its organisation also has supplier members).  co_c: the firm behind the
# anonymous demand.  sup_a, sup_a2: two members of the supplier that replied (sent,
# shortlisted, declined and withdrawn replies).  sup_b: a
# supplier with no capability and no reply.  both: an account of that same organisation acting
# on both sides (Role.BOTH).  staff: park staff.
ROLES = ("anon", "co_a", "co_a2", "co_b", "co_c", "sup_a", "sup_a2", "sup_b", "both", "staff")

ACCOUNTS = {
    # role: (account role, organisation, display name, e-mail)
    "co_a": ("company", "org_a", "张工", "zhang.gong@example.com"),
    "co_a2": ("company", "org_a", "Anna Liu", "anna.liu@example.com"),
    "co_b": ("company", "org_b", "王经理", "wang.jingli@example.com"),
    "co_c": ("company", "org_c", "陈主任", "chen.zhuren@example.com"),
    "sup_a": ("supplier", "org_s", "Peter Wu", "peter.wu@example.com"),
    "sup_a2": ("supplier", "org_s", "赵工", "zhao.gong@example.com"),
    "sup_b": ("supplier", "org_b", "孙工", "sun.gong@example.com"),
    "both": ("both", "org_b", "周总", "zhou.zong@example.com"),
    "staff": ("staff", None, "园区小李", "xiao.li@example.com"),
}
# Accounts that post but do not visit: the firm behind the anonymous demand whose reply from
# supplier A is shortlisted (which reveals it to that supplier).
POSTERS = {"co_d": ("company", "org_d", "钱主任", "qian.zhuren@example.com")}

ORGS = {
    # key: (name, English name or None)
    "org_a": ("京城轨道运营甲公司", "Jingcheng Rail Operations"),
    "org_b": ("乙方轨道科技集团", None),  # members on both sides; no English name
    "org_c": ("丙号城轨建设公司", "Bingcheng Metro Builders"),  # posts the anonymous demand
    "org_d": ("戊号地铁集团", "Wuhao Metro Group"),  # anonymous, shortlisted supplier A's reply
    "org_s": ("丁信号设备有限公司", "Ding Signal Equipment"),
}


# -- the expected status of every page -------------------------------------------------
# 200 403 404   that status
# login         302 to the sign-in page, with this page as ``next``
# home          302 to the visitor's own start page (signed-in visitors on sign-in/sign-up)
# replies       302 to the visitor's reply on /supplier/replies (already replied)
# shut          302 from the reply form of a closed demand to the demand's public page
# manage        302 to the poster's page of the demand (a closed demand cannot be edited)
# moved         301 to the favicon in /static
#
# States: "-" is the page as linked; other names are query strings (QUERIES) or records of
# the board (build_board): demands, capabilities and organisations.
#
#                                             anon    co_a    co_a2   co_b    co_c    sup_a   sup_a2  sup_b   both    staff
EXPECTED = {
    ("public.index", "-"):                    "200     200     200     200     200     200     200     200     200     200",
    ("public.index", "search"):               "200     200     200     200     200     200     200     200     200     200",
    ("public.event", "-"):                    "200     200     200     200     200     200     200     200     200     200",
    ("public.favicon", "-"):                  "moved   moved   moved   moved   moved   moved   moved   moved   moved   moved",
    # Probes: the test database is made without migrations, so it is never ready; /metrics
    # answers only its allow list or token (none here).
    ("ops.healthz", "-"):                     "200     200     200     200     200     200     200     200     200     200",
    ("ops.readyz", "-"):                      "503     503     503     503     503     503     503     503     503     503",
    ("ops.metrics", "-"):                     "404     404     404     404     404     404     404     404     404     404",
    ("static", "css"):                        "200     200     200     200     200     200     200     200     200     200",
    ("auth.login", "-"):                      "200     home    home    home    home    home    home    home    home    home",
    ("auth.signup", "-"):                     "200     home    home    home    home    home    home    home    home    home",

    ("public.demand", "draft"):               "404     200     200     404     404     404     404     404     404     404",
    ("public.demand", "returned"):            "404     200     200     404     404     404     404     404     404     404",
    ("public.demand", "submitted"):           "404     200     200     404     404     404     404     404     404     200",
    ("public.demand", "public"):              "200     200     200     200     200     200     200     200     200     200",
    ("public.demand", "anonymous"):           "200     200     200     200     200     200     200     200     200     200",
    ("public.demand", "revealed"):            "200     200     200     200     200     200     200     200     200     200",
    ("public.demand", "unmatched"):           "200     200     200     200     200     200     200     200     200     200",
    ("public.demand", "revised"):             "200     200     200     200     200     200     200     200     200     200",
    ("public.demand", "closed_published"):    "200     200     200     200     200     200     200     200     200     200",
    ("public.demand", "closed_unpublished"):  "404     200     200     404     404     404     404     404     404     200",
    ("public.demand", "no_demand"):           "404     404     404     404     404     404     404     404     404     404",

    ("company.my_demands", "-"):              "login   200     200     200     200     403     403     403     200     403",
    ("company.new_demand", "-"):              "login   200     200     200     200     403     403     403     200     403",
    ("company.demand", "draft"):              "login   200     200     403     403     403     403     403     403     403",
    ("company.demand", "returned"):           "login   200     200     403     403     403     403     403     403     403",
    ("company.demand", "submitted"):          "login   200     200     403     403     403     403     403     403     403",
    ("company.demand", "public"):             "login   200     200     403     403     403     403     403     403     403",
    ("company.demand", "anonymous"):          "login   403     403     403     200     403     403     403     403     403",
    ("company.demand", "revealed"):           "login   403     403     403     403     403     403     403     403     403",
    ("company.demand", "unmatched"):          "login   200     200     403     403     403     403     403     403     403",
    ("company.demand", "revised"):            "login   200     200     403     403     403     403     403     403     403",
    ("company.demand", "closed_published"):   "login   200     200     403     403     403     403     403     403     403",
    ("company.demand", "closed_unpublished"): "login   200     200     403     403     403     403     403     403     403",
    ("company.demand", "no_demand"):          "login   404     404     404     404     403     403     403     404     403",
    ("company.edit_demand", "draft"):         "login   200     200     403     403     403     403     403     403     403",
    ("company.edit_demand", "returned"):      "login   200     200     403     403     403     403     403     403     403",
    ("company.edit_demand", "submitted"):     "login   200     200     403     403     403     403     403     403     403",
    ("company.edit_demand", "public"):        "login   200     200     403     403     403     403     403     403     403",
    ("company.edit_demand", "anonymous"):     "login   403     403     403     200     403     403     403     403     403",
    ("company.edit_demand", "revealed"):      "login   403     403     403     403     403     403     403     403     403",
    ("company.edit_demand", "unmatched"):     "login   200     200     403     403     403     403     403     403     403",
    ("company.edit_demand", "revised"):       "login   200     200     403     403     403     403     403     403     403",
    ("company.edit_demand", "closed_published"):   "login   manage  manage  403     403     403     403     403     403     403",
    ("company.edit_demand", "closed_unpublished"): "login   manage  manage  403     403     403     403     403     403     403",
    ("company.edit_demand", "no_demand"):     "login   404     404     404     404     403     403     403     404     403",

    ("supplier.matching", "-"):               "login   403     403     403     403     200     200     200     200     403",
    ("supplier.profile", "-"):                "login   403     403     403     403     200     200     200     200     403",
    ("supplier.capability_list", "-"):        "login   403     403     403     403     200     200     200     200     403",
    ("supplier.capability_list", "search"):   "login   403     403     403     403     200     200     200     200     403",
    ("supplier.new_capability", "-"):         "login   403     403     403     403     200     200     200     200     403",
    ("supplier.my_replies", "-"):             "login   403     403     403     403     200     200     200     200     403",
    ("supplier.capability", "cap_confirmed"): "login   403     403     403     403     200     200     403     403     403",
    ("supplier.capability", "cap_dismissed"): "login   403     403     403     403     200     200     403     403     403",
    ("supplier.capability", "no_capability"): "login   403     403     403     403     404     404     404     404     403",
    ("supplier.edit_capability", "cap_confirmed"): "login   403     403     403     403     200     200     403     403     403",
    ("supplier.edit_capability", "cap_dismissed"): "login   403     403     403     403     200     200     403     403     403",
    ("supplier.edit_capability", "no_capability"): "login   403     403     403     403     404     404     404     404     403",
    ("supplier.reply", "draft"):              "login   403     403     403     403     404     404     404     404     403",
    ("supplier.reply", "returned"):           "login   403     403     403     403     404     404     404     404     403",
    ("supplier.reply", "submitted"):          "login   403     403     403     403     404     404     404     404     403",
    ("supplier.reply", "public"):             "login   403     403     403     403     replies replies 200     200     403",
    ("supplier.reply", "anonymous"):          "login   403     403     403     403     replies replies 200     200     403",
    ("supplier.reply", "revealed"):           "login   403     403     403     403     replies replies 200     200     403",
    ("supplier.reply", "unmatched"):          "login   403     403     403     403     200     200     200     200     403",
    ("supplier.reply", "revised"):            "login   403     403     403     403     200     200     200     200     403",
    ("supplier.reply", "closed_published"):   "login   403     403     403     403     shut    shut    shut    shut    403",
    ("supplier.reply", "closed_unpublished"): "login   403     403     403     403     404     404     404     404     403",
    ("supplier.reply", "no_demand"):          "login   403     403     403     403     404     404     404     404     403",

    ("threads.thread", "no_reply"):           "login   404     404     404     404     404     404     404     404     404",
    ("threads.meeting_ics", "no_meeting"):    "login   404     404     404     404     404     404     404     404     404",

    ("supplier.edit_reply", "no_reply"):      "login   403     403     403     403     404     404     404     404     403",
    ("public.reply_attachment", "no_reply"):  "404     404     404     404     404     404     404     404     404     404",

    ("admin.dashboard", "-"):                 "login   403     403     403     403     403     403     403     403     200",
    ("admin.dashboard", "all"):               "login   403     403     403     403     403     403     403     403     200",
    ("admin.dashboard", "published"):         "login   403     403     403     403     403     403     403     403     200",
    ("admin.dashboard", "closed"):            "login   403     403     403     403     403     403     403     403     200",
    ("admin.dashboard", "bad_status"):        "login   403     403     403     403     403     403     403     403     404",
    ("admin.dashboard", "search"):            "login   403     403     403     403     403     403     403     403     200",
    ("admin.calendar", "-"):                  "login   403     403     403     403     403     403     403     403     200",
    ("admin.calendar", "month"):              "login   403     403     403     403     403     403     403     403     200",
    ("admin.calendar", "bad_month"):          "login   403     403     403     403     403     403     403     403     200",
    ("admin.lexicon", "-"):                   "login   403     403     403     403     403     403     403     403     200",
    ("admin.lexicon", "search"):              "login   403     403     403     403     403     403     403     403     200",
    ("admin.lexicon_review_page", "-"):       "login   403     403     403     403     403     403     403     403     200",
    ("admin.lexicon_review_page", "search"):  "login   403     403     403     403     403     403     403     403     200",
    ("admin.lexicon_concept", "concept"):     "login   403     403     403     403     403     403     403     403     200",
    ("admin.lexicon_concept", "no_concept"):  "login   403     403     403     403     403     403     403     403     404",
    ("admin.organization_list", "-"):         "login   403     403     403     403     403     403     403     403     200",
    ("admin.organization_list", "search"):    "login   403     403     403     403     403     403     403     403     200",
    ("admin.organization", "org_a"):          "login   403     403     403     403     403     403     403     403     200",
    ("admin.organization", "org_b"):          "login   403     403     403     403     403     403     403     403     200",
    ("admin.organization", "org_c"):          "login   403     403     403     403     403     403     403     403     200",
    ("admin.organization", "org_d"):          "login   403     403     403     403     403     403     403     403     200",
    ("admin.organization", "org_s"):          "login   403     403     403     403     403     403     403     403     200",
    ("admin.organization", "no_org"):         "login   403     403     403     403     403     403     403     403     404",
    ("admin.demand", "draft"):                "login   403     403     403     403     403     403     403     403     404",
    ("admin.demand", "returned"):             "login   403     403     403     403     403     403     403     403     404",
    ("admin.demand", "submitted"):            "login   403     403     403     403     403     403     403     403     200",
    ("admin.demand", "public"):               "login   403     403     403     403     403     403     403     403     200",
    ("admin.demand", "anonymous"):            "login   403     403     403     403     403     403     403     403     200",
    ("admin.demand", "revealed"):             "login   403     403     403     403     403     403     403     403     200",
    ("admin.demand", "unmatched"):            "login   403     403     403     403     403     403     403     403     200",
    ("admin.demand", "revised"):              "login   403     403     403     403     403     403     403     403     200",
    ("admin.demand", "closed_published"):     "login   403     403     403     403     403     403     403     403     200",
    ("admin.demand", "closed_unpublished"):   "login   403     403     403     403     403     403     403     403     200",
    ("admin.demand", "no_demand"):            "login   403     403     403     403     403     403     403     403     404",
    ("admin.match_queue", "-"):               "login   403     403     403     403     403     403     403     403     200",
    ("admin.match_queue", "all"):             "login   403     403     403     403     403     403     403     403     200",
    ("admin.industry_map_page", "-"):         "login   403     403     403     403     403     403     403     403     200",
    ("admin.gaps", "-"):                      "login   403     403     403     403     403     403     403     403     200",
    ("admin.strengths", "-"):                 "login   403     403     403     403     403     403     403     403     200",
    ("admin.capability_list", "-"):           "login   403     403     403     403     403     403     403     403     200",
    ("admin.capability_list", "search"):      "login   403     403     403     403     403     403     403     403     200",
    ("admin.organization_list", "tagged"):    "login   403     403     403     403     403     403     403     403     200",
    ("admin.accounts", "-"):                  "login   403     403     403     403     403     403     403     403     200",
    ("admin.audit_log", "-"):                 "login   403     403     403     403     403     403     403     403     200",
    ("admin.exports", "-"):                   "login   403     403     403     403     403     403     403     403     200",
    ("admin.export_file", "export_csv"):      "login   403     403     403     403     403     403     403     403     200",
    ("admin.import_upload", "-"):             "login   403     403     403     403     403     403     403     403     200",
    ("admin.merge_organization", "org_a"):    "login   403     403     403     403     403     403     403     403     200",
    ("admin.merge_organization", "org_b"):    "login   403     403     403     403     403     403     403     403     200",
    ("admin.merge_organization", "org_c"):    "login   403     403     403     403     403     403     403     403     200",
    ("admin.merge_organization", "org_d"):    "login   403     403     403     403     403     403     403     403     200",
    ("admin.merge_organization", "org_s"):    "login   403     403     403     403     403     403     403     403     200",
    ("admin.merge_organization", "no_org"):   "login   403     403     403     403     403     403     403     403     404",
    ("admin.rounds_list", "-"):               "login   403     403     403     403     403     403     403     403     200",
    ("admin.new_round", "-"):                 "login   403     403     403     403     403     403     403     403     200",
    ("admin.round", "round_closed"):          "login   403     403     403     403     403     403     403     403     200",
    ("admin.round", "round_open"):            "login   403     403     403     403     403     403     403     403     200",
    ("admin.round", "round_upcoming"):        "login   403     403     403     403     403     403     403     403     200",
    ("admin.round", "no_round"):              "login   403     403     403     403     403     403     403     403     404",
    ("admin.edit_round", "round_closed"):     "login   403     403     403     403     403     403     403     403     200",
    ("admin.edit_round", "round_open"):       "login   403     403     403     403     403     403     403     403     200",
    ("admin.edit_round", "round_upcoming"):   "login   403     403     403     403     403     403     403     403     200",
    ("admin.edit_round", "no_round"):         "login   403     403     403     403     403     403     403     403     404",
    ("admin.close_round", "round_closed"):    "login   403     403     403     403     403     403     403     403     200",
    ("admin.close_round", "round_open"):      "login   403     403     403     403     403     403     403     403     200",
    ("admin.close_round", "round_upcoming"):  "login   403     403     403     403     403     403     403     403     200",
    ("admin.close_round", "no_round"):        "login   403     403     403     403     403     403     403     403     404",
    ("admin.outcomes", "-"):                  "login   403     403     403     403     403     403     403     403     200",
    ("admin.outcomes", "agreements"):         "login   403     403     403     403     403     403     403     403     200",
    ("admin.edit_outcome", "outcome_demand"): "login   403     403     403     403     403     403     403     403     200",
    ("admin.edit_outcome", "outcome_event"):  "login   403     403     403     403     403     403     403     403     200",
    ("admin.edit_outcome", "no_outcome"):     "login   403     403     403     403     403     403     403     403     404",
    ("admin.new_outcome", "draft"):           "login   403     403     403     403     403     403     403     403     404",
    ("admin.new_outcome", "returned"):        "login   403     403     403     403     403     403     403     403     404",
    ("admin.new_outcome", "submitted"):       "login   403     403     403     403     403     403     403     403     200",
    ("admin.new_outcome", "public"):          "login   403     403     403     403     403     403     403     403     200",
    ("admin.new_outcome", "anonymous"):       "login   403     403     403     403     403     403     403     403     200",
    ("admin.new_outcome", "revealed"):        "login   403     403     403     403     403     403     403     403     200",
    ("admin.new_outcome", "unmatched"):       "login   403     403     403     403     403     403     403     403     200",
    ("admin.new_outcome", "revised"):         "login   403     403     403     403     403     403     403     403     200",
    ("admin.new_outcome", "closed_published"):"login   403     403     403     403     403     403     403     403     200",
    ("admin.new_outcome", "closed_unpublished"):"login   403     403     403     403     403     403     403     403     200",
    ("admin.new_outcome", "no_demand"):       "login   403     403     403     403     403     403     403     403     404",
    ("admin.insights", "-"):                  "login   403     403     403     403     403     403     403     403     200",
    ("admin.insights", "seed_round"):         "login   403     403     403     403     403     403     403     403     200",
    ("admin.jobs", "-"):                      "login   403     403     403     403     403     403     403     403     200",
    ("admin.mail", "-"):                      "login   403     403     403     403     403     403     403     403     200",
    ("admin.mail", "all"):                    "login   403     403     403     403     403     403     403     403     200",
    ("admin.mail", "bad_status"):             "login   403     403     403     403     403     403     403     403     404",
    ("admin.mail_message", "no_mail"):        "login   403     403     403     403     403     403     403     403     404",

    ("account.notices_list", "-"):            "login   200     200     200     200     200     200     200     200     200",
    ("account.settings", "-"):                "login   200     200     200     200     200     200     200     200     200",
    ("account.open_notice", "no_notice"):     "login   404     404     404     404     404     404     404     404     404",

    ("public.contact", "-"):                  "200     200     200     200     200     200     200     200     200     200",
    ("auth.forgot_password", "-"):            "200     200     200     200     200     200     200     200     200     200",
    ("auth.reset_password", "bad_token"):     "404     404     404     404     404     404     404     404     404     404",
    ("auth.change_password", "-"):            "login   200     200     200     200     200     200     200     200     200",
    ("auth.change_email", "-"):               "login   200     200     200     200     200     200     200     200     200",
    ("auth.confirm_email", "bad_token"):      "404     404     404     404     404     404     404     404     404     404",
    ("auth.confirm_address", "bad_token"):    "404     404     404     404     404     404     404     404     404     404",

    # The directory. Profiles: org_a and org_s public, org_b for members, org_c and org_d for
    # staff (the firms behind the anonymous demands: nobody else learns they are on the board).
    ("directory.index", "-"):                 "200     200     200     200     200     200     200     200     200     200",
    ("directory.index", "search"):            "200     200     200     200     200     200     200     200     200     200",
    ("directory.bookmarks", "-"):             "login   200     200     200     200     200     200     200     200     200",
    ("directory.compare", "-"):               "login   200     200     200     200     200     200     200     200     200",
    ("directory.profile", "org_a"):           "200     200     200     200     200     200     200     200     200     200",
    ("directory.profile", "org_b"):           "404     200     200     200     200     200     200     200     200     200",
    ("directory.profile", "org_c"):           "404     404     404     404     200     404     404     404     404     200",
    ("directory.profile", "org_d"):           "404     404     404     404     404     404     404     404     404     200",
    ("directory.profile", "org_s"):           "200     200     200     200     200     200     200     200     200     200",
    ("directory.profile", "no_org"):          "404     404     404     404     404     404     404     404     404     404",
    ("directory.edit_profile", "org_a"):      "login   200     200     403     403     403     403     403     403     403",
    ("directory.edit_profile", "org_b"):      "login   403     403     200     403     403     403     200     200     403",
    ("directory.edit_profile", "org_c"):      "login   404     404     404     200     404     404     404     404     403",
    ("directory.edit_profile", "org_d"):      "login   404     404     404     404     404     404     404     404     403",
    ("directory.edit_profile", "org_s"):      "login   403     403     403     403     200     200     403     403     403",
    ("directory.edit_profile", "no_org"):     "login   404     404     404     404     404     404     404     404     404",
    # org_s has a logo; the others none.
    ("directory.logo", "org_a"):              "404     404     404     404     404     404     404     404     404     404",
    ("directory.logo", "org_b"):              "404     404     404     404     404     404     404     404     404     404",
    ("directory.logo", "org_c"):              "404     404     404     404     404     404     404     404     404     404",
    ("directory.logo", "org_d"):              "404     404     404     404     404     404     404     404     404     404",
    ("directory.logo", "org_s"):              "200     200     200     200     200     200     200     200     200     200",
    ("directory.logo", "no_org"):             "404     404     404     404     404     404     404     404     404     404",
    ("directory.edit_credential", "cred_s"):  "login   403     403     403     403     200     200     403     403     403",
    ("directory.edit_credential", "cred_b"):  "login   403     403     200     403     403     403     200     200     403",
    ("directory.edit_credential", "no_credential"): "login   404     404     404     404     404     404     404     404     404",
    ("directory.edit_reference", "ref_s"):    "login   403     403     403     403     200     200     403     403     403",
    ("directory.edit_reference", "ref_c"):    "login   404     404     404     200     404     404     404     404     403",
    ("directory.edit_reference", "no_reference"): "login   404     404     404     404     404     404     404     404     404",
}

# Query strings of the pages that take no record.
QUERIES = {
    "-": {},
    "search": {"q": "站台门"},
    "all": {"status": "all"},
    "month": {"month": "2026-05"},
    "bad_month": {"month": "May"},
    "no_meeting": {"reply_id": 2**31 - 1, "meeting_id": 2**31 - 1},
    "no_reply": {"reply_id": 2**31 - 1},
    "published": {"status": "published"},
    "closed": {"status": "closed"},
    "bad_status": {"status": "nonsense"},
    "tagged": {"tag": "chain_leader"},
    "export_csv": {"kind": "demands", "format": "csv"},
    "css": {"filename": "css/board.css"},
    "no_notice": {"notice_id": 2**31 - 1},
    "no_mail": {"mail_id": 2**31 - 1},
    "bad_token": {"token": "no-such-token"},
    "agreements": {"kind": "agreement"},
    "seed_round": {"round": 1},  # the event's round, the first one the seed loads
    "concept": {"cid": "platform_screen_door"},
    "no_concept": {"cid": "no_such_concept"},
}
SEARCH_BY_ENDPOINT = {"admin.organization_list": {"q": "轨道"}}

# Which URL argument each kind of record fills in.
RECORD_ARGUMENT = {"demand": "demand_id", "capability": "cap_id", "organization": "org_id",
                   "round": "round_id", "outcome": "outcome_id", "credential": "credential_id",
                   "reference": "reference_id"}

# Words a page of the other language may legitimately hold: each language's name on the
# switch is written in that language, and Chinese interface text says "ID" (概念 ID).
SAME_IN_BOTH = {"zh": {"English", "ID", "Excel", "CSV", "PDF", "MB",
                       # certificates are named so in Chinese too (CRCC, IRIS / ISO/TS 22163,
                       # EN 50126 with a SIL level, GB/T and TB/T), and image formats
                       "CRCC", "IRIS", "ISO", "TS", "EN", "SIL", "GB", "TB", "PNG", "JPEG"},
                "en": {"中文"}}


# -- the board -------------------------------------------------------------------------
@dataclass
class Board:
    records: dict[str, tuple[str, int]] = field(default_factory=dict)  # state: (kind, id)
    users: dict[str, User] = field(default_factory=dict)
    org_ids: dict[str, int] = field(default_factory=dict)
    reply_ids: dict[str, int] = field(default_factory=dict)
    revision_title: str = ""

    def states_of(self, kind: str) -> list[str]:
        return [s for s, (k, _) in self.records.items() if k == kind]


FUTURE = board_today() + dt.timedelta(days=90)

#: Who may open each organisation's directory profile.
PROFILES = {"org_a": "public", "org_b": "members", "org_c": "staff", "org_d": "staff", "org_s": "public"}


def _logo(logos) -> str:
    """A stored logo (a small PNG under UPLOAD_DIR), as an upload would leave it."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 160)).save(buf, format="PNG")
    key = "0" * 32 + ".png"
    logos.folder().mkdir(parents=True, exist_ok=True)
    (logos.folder() / key).write_bytes(logos.reencode(buf.getvalue()))
    return key

PSD = "既有线路站台门（屏蔽门）改造与维护，需要与信号系统联动。"


def _demand_data(title: str, description: str = PSD, **extra) -> dict:
    data = {"title": title, "description": description, "keywords": "站台门、屏蔽门",
            "segment": "equipment", "themes": [], "visibility": "public"}
    data.update(extra)
    return data


def _reply_data(fit: str, **extra) -> dict:
    data = {"fit": fit, "cases": "", "contact_name": "王工", "contact_email": "wang.gong@example.com",
            "contact_phone": "", "capability_id": None}
    data.update(extra)
    return data


def build_board(app) -> Board:
    """Every state a page can show, on top of the event's seed."""
    board = Board()
    with app.app_context():
        seeding.load_event()
        matches.rematch_all()
        orgs = {}
        for key, (name, name_en) in ORGS.items():
            orgs[key] = Organization(name=name, name_en=name_en, profile_visibility=PROFILES[key])
            db.session.add(orgs[key])
        db.session.flush()
        users = {}
        for role, (kind, org, name, email) in {**ACCOUNTS, **POSTERS}.items():
            users[role] = accounts.create_user(
                email=email, password=PASSWORD, role=Role(kind), display_name=name,
                organization=orgs[org] if org else None,
            )
        db.session.flush()
        co_a, co_c, co_d = users["co_a"], users["co_c"], users["co_d"]
        sup_a, staff = users["sup_a"], users["staff"]

        cap_zh = capabilities.create(sup_a, {
            "title": "站台门改造与维保服务",
            "description": "为地铁既有线路提供站台门（屏蔽门）改造、安装与维护。",
            "keywords": "站台门、屏蔽门", "segment": "equipment", "themes": []})
        cap_en = capabilities.create(sup_a, {
            "title": "Platform screen doors: retrofit and maintenance",
            "description": "We retrofit and maintain platform screen doors on existing metro lines.",
            "keywords": "platform screen door", "segment": "equipment", "themes": []})

        def new(user, status, data):
            d = demands.create(user, data)
            if status != DemandStatus.DRAFT:
                demands.submit(user, d)
            if status == DemandStatus.PUBLISHED:
                demands.publish(staff, d)
            return d

        draft = new(co_a, DemandStatus.DRAFT, _demand_data(
            "车辆段屏蔽门检修规划", "车辆段内屏蔽门（站台门）检修流程规划，\n需要熟悉站台门系统的合作方。"))
        returned = new(co_a, DemandStatus.SUBMITTED, _demand_data("站台门控制系统升级"))
        demands.return_to_poster(staff, returned, "请补充技术指标和预算范围。")
        submitted = new(co_a, DemandStatus.SUBMITTED, _demand_data("屏蔽门故障诊断平台"))
        public = new(co_a, DemandStatus.PUBLISHED, _demand_data(
            "既有线站台门改造", "一号线站台门运行近二十年。\n需要对屏蔽门系统进行改造并提供维保服务。",
            themes=["intelligent_equipment"], contact_name="张工", deadline=FUTURE,
            contact_email="door.contact@example.com", website="https://jingcheng.example.com"))
        anonymous = new(co_c, DemandStatus.PUBLISHED, _demand_data(
            "站台门安全联动升级", "站台门与信号系统的安全联动升级，包括屏蔽门状态监测。",
            visibility="anonymous", contact_name="陈主任", contact_email="hidden.contact@example.com",
            website="https://bingcheng.example.com"))
        revealed = new(co_d, DemandStatus.PUBLISHED, _demand_data(
            "屏蔽门远程监控改造", "屏蔽门（站台门）远程监控与故障报警改造。", visibility="anonymous",
            contact_name="钱主任", contact_email="qian.contact@example.com"))
        unmatched = new(co_a, DemandStatus.PUBLISHED, _demand_data(
            "园区职工食堂餐饮外包", "为园区职工食堂寻找餐饮承包商，负责工作日午餐供应。",
            keywords="餐饮", segment=""))
        revised = new(co_a, DemandStatus.PUBLISHED, _demand_data("站台门应急照明改造"))
        board.revision_title = "站台门应急照明改造（修订待审）"
        demands.update(co_a, revised, _demand_data(
            board.revision_title, "修订待审：站台门应急照明与屏蔽门电源改造。"))
        closed_published = new(co_a, DemandStatus.PUBLISHED, _demand_data("站台门维保外包"))
        closed_unpublished = new(co_a, DemandStatus.SUBMITTED, _demand_data("屏蔽门节能改造"))

        # Replies in each status, all from supplier A.
        sent = replies.create(sup_a, public, _reply_data(
            "我们为三条线路完成过站台门改造，可以提供完整方案。", capability_id=cap_zh.id))
        sent_anonymous = replies.create(sup_a, anonymous, _reply_data("我们可以承担站台门安全联动升级的设计与施工。"))
        shortlisted = replies.create(sup_a, revealed, _reply_data("我们做过两条线路的屏蔽门远程监控。"))
        replies.answer(co_d, shortlisted, ReplyStatus.SHORTLISTED)
        withdrawn = replies.create(sup_a, unmatched, _reply_data("我们可以介绍合作的餐饮企业。"))
        replies.withdraw(sup_a, withdrawn)
        declined = replies.create(sup_a, closed_published, _reply_data("我们有十年站台门维保经验。"))
        replies.answer(co_a, declined, ReplyStatus.DECLINED, "方向不符")
        demands.close(co_a, closed_published, "已找到合作伙伴")
        demands.close(co_a, closed_unpublished, "预算取消")

        # Matches staff confirmed and dismissed, on the public demand.
        by_cap = {m.capability_id: m for m in db.session.scalars(
            sa.select(Match).where(Match.demand_id == public.id))}
        assert {cap_zh.id, cap_en.id} <= set(by_cap), "both capabilities should match the demand"
        matches.review(by_cap[cap_zh.id].id, MatchStatus.CONFIRMED, staff)
        matches.review(by_cap[cap_en.id].id, MatchStatus.DISMISSED, staff, reason="只做英文资料，不符合需求")
        db.session.commit()

        # The states the sweep relies on really are there.
        assert draft.status == returned.status == DemandStatus.DRAFT and returned.return_reason
        assert submitted.status == DemandStatus.SUBMITTED
        assert closed_published.published_at and closed_published.status == DemandStatus.CLOSED
        assert not closed_unpublished.published_at and closed_unpublished.status == DemandStatus.CLOSED
        assert db.session.scalar(sa.select(sa.func.count()).where(Match.demand_id == unmatched.id)) == 0
        for d in (public, anonymous, revealed):
            assert db.session.scalar(sa.select(sa.func.count()).where(Match.demand_id == d.id)) > 0
        assert [r.status for r in (sent, shortlisted, withdrawn, declined)] == [
            ReplyStatus.SENT, ReplyStatus.SHORTLISTED, ReplyStatus.WITHDRAWN, ReplyStatus.DECLINED]

        for state, d in (("draft", draft), ("returned", returned), ("submitted", submitted),
                         ("public", public), ("anonymous", anonymous), ("revealed", revealed),
                         ("unmatched", unmatched),
                         ("revised", revised), ("closed_published", closed_published),
                         ("closed_unpublished", closed_unpublished)):
            board.records[state] = ("demand", d.id)
        board.records["cap_confirmed"] = ("capability", cap_zh.id)
        board.records["cap_dismissed"] = ("capability", cap_en.id)
        for key, org in orgs.items():
            board.records[key] = ("organization", org.id)
            board.org_ids[key] = org.id
        missing = 2**31 - 1
        board.records.update(no_demand=("demand", missing), no_capability=("capability", missing),
                             no_org=("organization", missing))
        # The directory: a credential and a reference on profiles of each visibility, a logo.
        from board.models import Credential, CredentialType, Reference
        from board.services import logos

        items = {"cred_s": Credential(organization_id=orgs["org_s"].id, type=CredentialType.EN5012X,
                                      sil_level=4, number="SIL4-2024-001", issuer="认证中心",
                                      valid_until=FUTURE),
                 "cred_b": Credential(organization_id=orgs["org_b"].id, type=CredentialType.CRCC,
                                      valid_until=dt.date(2020, 1, 1)),
                 "ref_s": Reference(organization_id=orgs["org_s"].id, project="既有线信号改造",
                                    year=2022, delivered="车载设备升级"),
                 "ref_c": Reference(organization_id=orgs["org_c"].id, project="车站土建", client=None)}
        db.session.add_all(items.values())
        orgs["org_s"].logo_key = _logo(logos)
        db.session.commit()
        for state, item in items.items():
            board.records[state] = (item.__tablename__, item.id)
        board.records.update(no_credential=("credential", missing), no_reference=("reference", missing))
        # Rounds: the event's (closed), an open one its demands were carried into, an upcoming
        # one; an agreement recorded offline on the public demand, and the event's own.
        from board.models import Outcome, Round
        from board.services import funnel, rounds

        today = board_today()
        seed_round = db.session.scalar(sa.select(Round).order_by(Round.id))
        open_round = Round(name="2026年第二轮需求征集", name_en="Round 2, 2026",
                           opens_on=today - dt.timedelta(days=10), description="征集站台门与信号系统相关需求。",
                           segments=["equipment"], themes=["intelligent_equipment"])
        upcoming = Round(name="2026年第三轮需求征集", opens_on=today + dt.timedelta(days=30),
                         closes_on=today + dt.timedelta(days=60))
        db.session.add_all([open_round, upcoming])
        db.session.flush()
        assert seed_round.id == QUERIES["seed_round"]["round"] and rounds.state(seed_round) == "closed"
        assert rounds.carry(staff, seed_round, open_round) > 0
        for d in (public, submitted, closed_published):
            d.round_id = open_round.id
        agreement, _new = funnel.record_outcome(staff, public, {
            "kind": "agreement", "organization_b_id": orgs["org_s"].id, "occurred_on": today,
            "value_wan": 50, "note": "线下签订合作框架协议"})
        db.session.commit()
        event_outcome = db.session.scalar(sa.select(Outcome).where(Outcome.demand_id.is_(None)))
        board.records.update(round_closed=("round", seed_round.id), round_open=("round", open_round.id),
                             round_upcoming=("round", upcoming.id), no_round=("round", missing),
                             outcome_demand=("outcome", agreement.id),
                             outcome_event=("outcome", event_outcome.id), no_outcome=("outcome", missing))
        board.reply_ids = {"public": sent.id, "anonymous": sent_anonymous.id, "revealed": shortlisted.id}
        for role, user in users.items():
            board.users[role] = type("Account", (), {"email": user.email, "id": user.id})
    return board


# -- what a page says, without what users wrote ----------------------------------------
def page_text(html: str) -> str:
    """The words a reader sees: no scripts, styles, comments, tags or attribute values."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html)
    html = re.sub(r"(?s)<!--.*?-->", " ", html)
    html = re.sub(r"(?i)</?(mark|br)\b[^>]*>", "", html)  # inside user text (highlights, lines)
    html = re.sub(r"<[^>]*>", " ", html)
    return " ".join(unescape(html).split())


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _match_terms(reasons: dict) -> list[str]:
    """The words of the two texts a match quotes (its concept labels are the board's own)."""
    out = []
    for c in (reasons or {}).get("concepts", []):
        out += c.get("demand_terms", []) + c.get("capability_terms", [])
    for t in (reasons or {}).get("terms", []):
        out += [t.get("demand", ""), t.get("capability", "")]
    return out


# Tables whose text is the board's own (labels, in both languages) or never shown.
NOT_USER_TEXT = {"segment", "theme", "match_key", "login_session", "alembic_version"}
NOT_SHOWN = {"password_hash", "token_hash", "locale", "analysis_version", "analysis", "lang",
             "segments", "themes", "provenance"}
# The fields of a pending revision that hold what the poster wrote (the others are codes).
REVISION_TEXT = ("title", "description", "keywords", "contact_name", "contact_email", "website")


def stored_texts(lang: str) -> set[str]:
    """Every text stored in the board's records, as a page in ``lang`` shows it: of a pair
    such as ``name``/``name_en`` only the one that language uses."""
    out: set[str] = set()
    for table in db.metadata.sorted_tables:
        if table.name in NOT_USER_TEXT:
            continue
        cols = [c for c in table.columns if c.name not in NOT_SHOWN and not c.foreign_keys
                and (isinstance(c.type, (sa.String, sa.Text)) and not isinstance(c.type, sa.Enum)
                     or c.name in ("reasons", "data"))]
        if not cols:
            continue
        for row in db.session.execute(sa.select(*cols)).mappings():
            for name, value in row.items():
                if not value:
                    continue
                if name == "reasons":
                    out.update(_match_terms(value))
                elif name == "data":
                    out.update(_strings([value.get(k) for k in REVISION_TEXT if value.get(k)]))
                elif name.endswith("_en"):
                    if lang == "en":
                        out.add(value)
                elif lang == "en" and row.get(f"{name}_en"):
                    continue  # the English page shows the English one
                elif name == "keywords":
                    out.update(value.split("\n"))
                else:
                    out.add(value)
    return {s for s in out if s and s.strip()}


def suggested_words(app) -> set[str]:
    """Keywords the board suggests from the records' own text."""
    from board.models import Capability
    from board.views.suggestions import pending

    out: set[str] = set()
    with app.test_request_context():
        for model in (Demand, Capability):
            for record in db.session.scalars(sa.select(model)):
                out.update(pending(record).keywords)
    return out


def lexicon_terms() -> set[str]:
    """The lexicon's concepts: the staff lexicon page lists them in every language at once."""
    from board.services.matcher import get_engine

    out: set[str] = set()
    for c in get_engine().lexicon.concepts.values():
        out.update((c.id, *c.terms, *([c.broader] if c.broader else [])))
    return out


def import_words() -> set[str]:
    """The import page names the file's columns and the command for larger files."""
    from board.services import importing

    return {*importing.REQUIRED, *importing.OPTIONAL, "flask", "--app", "board", "import", "PATH",
            "UTF-8", ".csv", ".xlsx", ".json"}


def audit_words() -> set[str]:
    """The audit log shows the values each entry recorded (field names and codes), and the
    exports the sweep itself downloads."""
    from board.models import AuditEntry
    from board.services import tables

    out = {*tables.TABLES, *tables.QUERY_NAMES, "kind", "format", "filters", "rows", "lang", "xlsx",
           "csv", "zh", "en"}

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                out.add(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            out.add(value)

    for before, after in db.session.execute(sa.select(AuditEntry.before, AuditEntry.after)):
        walk(before)
        walk(after)
    return out


# Data some pages show besides the records' text: a record's page lists the keywords the
# board suggests from its text; the staff lexicon page lists every concept in both languages.
def both_languages(model_name: str, *fields: str) -> set[str]:
    """A record's texts in both languages: its edit form shows each field and its ``_en`` twin."""
    from board import models

    model = getattr(models, model_name)
    cols = [getattr(model, f) for name in fields for f in (name, f"{name}_en")]
    return {v for row in db.session.execute(sa.select(*cols)) for v in row if v}


PAGE_DATA = {
    # Edit forms show a text and its English version side by side.
    "admin.edit_round": lambda app: both_languages("Round", "name", "description"),
    "admin.edit_outcome": lambda app: both_languages("Outcome", "note"),
    "company.demand": lambda app: suggested_words(app),
    "supplier.capability": lambda app: suggested_words(app),
    "admin.lexicon": lambda app: lexicon_terms(),
    "admin.lexicon_review_page": lambda app: lexicon_terms(),
    "admin.lexicon_concept": lambda app: lexicon_terms(),
    # The industry map and its lists name lexicon concepts.
    "admin.industry_map_page": lambda app: lexicon_terms(),
    "admin.gaps": lambda app: lexicon_terms(),
    "admin.strengths": lambda app: lexicon_terms(),
    "admin.import_upload": lambda app: import_words(),
    "admin.audit_log": lambda app: audit_words(),
}


def truncations(app, texts: set[str]) -> set[str]:
    """The shortened forms the templates show (``|truncate(n)``) of long texts."""
    from jinja2.filters import do_truncate

    lengths = set()
    for path in app.jinja_loader.list_templates():
        source = app.jinja_loader.get_source(app.jinja_env, path)[0]
        lengths.update(int(n) for n in re.findall(r"truncate\((\d+)\)", source))
    return {do_truncate(app.jinja_env, t, n) for t in texts for n in lengths if len(t) > n}


def remover(texts: set[str]):
    """A function that takes the given texts out of a page's text (longest first)."""
    parts = []
    for t in sorted({" ".join(t.split()) for t in texts} - {""}, key=len, reverse=True):
        p = re.escape(t)
        if t[0].isascii() and t[0].isalnum():
            p = r"(?<![A-Za-z0-9])" + p
        if t[-1].isascii() and t[-1].isalnum():
            p += r"(?![A-Za-z0-9])"
        parts.append(p)
    pattern = re.compile("|".join(parts))
    addresses = re.compile(r"\S+@\S+\.[A-Za-z]+|https?://\S+")

    def remove(text: str) -> str:
        return addresses.sub(" ", pattern.sub(" ", text))

    return remove


ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")
CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def wrong_language(text: str, lang: str) -> list[str]:
    found = ENGLISH_WORD.findall(text) if lang == "zh" else CHINESE.findall(text)
    return sorted(set(found) - SAME_IN_BOTH[lang])


# -- visiting ----------------------------------------------------------------------------
def get_rules(app):
    return [r for r in app.url_map.iter_rules() if "GET" in r.methods]


def url_for_state(rule, state: str, board: Board) -> str:
    values = dict(QUERIES.get(state, {}))
    if state == "search":
        values = dict(SEARCH_BY_ENDPOINT.get(rule.endpoint, values))
    if state in board.records:
        kind, record_id = board.records[state]
        values[RECORD_ARGUMENT[kind]] = record_id
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.endpoint} {state}: no value for {missing}"
    return rule.build(values, append_unknown=True)[1]


def visitors(app, board: Board, lang: str, login) -> dict:
    """A signed-in client per visitor (the anonymous one too), switched to ``lang`` with the
    language form."""
    clients = {}
    for role in ROLES:
        client = app.test_client()
        if role != "anon":
            login(client, board.users[role])
        resp = client.post("/lang", data={"lang": lang, "next": "/"})
        assert resp.status_code == 302, role
        clients[role] = client
    return clients


HOMES = {"co_a": "/company/", "co_a2": "/company/", "co_b": "/company/", "co_c": "/company/",
         "both": "/company/", "sup_a": "/supplier/", "sup_a2": "/supplier/", "sup_b": "/supplier/",
         "staff": "/admin/"}


def redirect_problem(token: str, resp, url: str, role: str, state: str, board: Board):
    """Why a redirect is not the one ``token`` names, or None."""
    target = urlsplit(resp.headers.get("Location", ""))
    if token == "moved":
        want_code, ok = 301, target.path == "/static/img/favicon.svg"
    elif token == "login":
        want_code = 302
        nxt = parse_qs(target.query).get("next", [""])[0]
        ok = target.path == "/login" and nxt == unquote(url)
    elif token == "home":
        want_code, ok = 302, target.path == HOMES[role]
    elif token == "replies":
        want_code = 302
        ok = (target.path, target.fragment) == ("/supplier/replies", f"reply-{board.reply_ids[state]}")
    elif token == "shut":
        want_code, ok = 302, target.path == f"/demands/{board.records[state][1]}"
    elif token == "manage":
        want_code, ok = 302, target.path == f"/company/demands/{board.records[state][1]}"
    else:
        raise AssertionError(f"unknown token {token}")
    if resp.status_code != want_code or not ok:
        return f"{resp.status_code} to {resp.headers.get('Location')}, expected {token}"
    return None


def expected_token(endpoint: str, state: str, role: str) -> str:
    return EXPECTED[(endpoint, state)].split()[ROLES.index(role)]


def status_problem(token: str, resp, url, role, state, board) -> str | None:
    if token.isdigit():
        return None if resp.status_code == int(token) else f"{resp.status_code}, expected {token}"
    return redirect_problem(token, resp, url, role, state, board)


def secrets_of(app, board: Board) -> dict[str, set[str]]:
    """Texts only some visitors may see (``MAY_SEE``)."""
    with app.app_context():
        def title(state):
            return db.session.get(Demand, board.records[state][1]).title

        def poster(state):
            d = db.session.get(Demand, board.records[state][1])
            org = d.organization
            members = db.session.scalars(sa.select(User).where(User.organization_id == org.id))
            out = {org.name, org.name_en, d.contact_name, d.contact_email, d.website}
            for u in members:
                out |= {u.display_name, u.email}
            return {s for s in out if s}

        return {
            "anonymous poster": poster("anonymous"),
            "revealed poster": poster("revealed"),
            "draft": {title("draft"), title("returned")},
            "unpublished demand": {title("submitted"), title("closed_unpublished"),
                                   board.revision_title},
        }


MAY_SEE = {
    # Who is behind an anonymous demand: its own organisation and staff ...
    "anonymous poster": {"co_c", "staff"},
    # ... and the supplier whose reply it shortlisted.
    "revealed poster": {"sup_a", "sup_a2", "staff"},
    # A draft (returned by staff or not): its organisation alone.
    "draft": {"co_a", "co_a2"},
    # A demand never published, and changes to a published one awaiting review: its
    # organisation and staff.
    "unpublished demand": {"co_a", "co_a2", "staff"},
}


# The one write a GET makes on purpose: the poster's demand page and a reply's conversation,
# opened by the poster's organisation, mark the reply opened (from then on its sender cannot
# change it; services.replies.mark_opened).
GET_WRITES = {("reply", "opened_at")}


def table_snapshot(app) -> dict:
    """The records a GET must not change."""
    with app.app_context():
        out = {}
        for name in ("demand", "capability", "reply", "match", "organization", "demand_revision"):
            table = db.metadata.tables.get(name)
            if table is not None:
                cols = [c for c in table.columns if (name, c.name) not in GET_WRITES]
                out[name] = sorted(map(tuple, db.session.execute(sa.select(*cols)).all()), key=repr)
        return out


def sweep(app, board: Board, lang: str, login) -> tuple[list[str], int]:
    """Open every (route, state) of the table as every visitor; return the problems found
    and the number of pages opened."""
    clients = visitors(app, board, lang, login)
    with app.app_context():
        texts = stored_texts(lang)
        texts |= truncations(app, texts)
        page_data = {endpoint: extra(app) for endpoint, extra in PAGE_DATA.items()}
    removers = {}
    secrets = secrets_of(app, board)
    html_lang = 'lang="en"' if lang == "en" else 'lang="zh-CN"'
    rules = {r.endpoint: r for r in get_rules(app)}
    problems, opened = [], 0
    for (endpoint, state), row in EXPECTED.items():
        url = url_for_state(rules[endpoint], state, board)
        # What the visitor typed in the query string is shown back to them.
        typed = frozenset(parse_qs(urlsplit(url).query).get("q", []))
        key = (endpoint if endpoint in page_data else None, typed)
        if key not in removers:
            removers[key] = remover(texts | page_data.get(endpoint, set()) | typed)
        for role in ROLES:
            token = row.split()[ROLES.index(role)]
            resp = clients[role].get(url)
            body = resp.get_data().decode("utf-8", "replace")  # a logo is an image
            resp.close()
            opened += 1
            where = f"{lang} {role:6} {url} [{endpoint} {state}]"
            if resp.status_code >= 500 and token != str(resp.status_code):
                problems.append(f"{where}: {resp.status_code}")
                continue
            why = status_problem(token, resp, url, role, state, board)
            if why:
                problems.append(f"{where}: {why}")
            if resp.status_code in (301, 302) or resp.mimetype != "text/html":
                continue
            if html_lang not in body[:200]:
                problems.append(f"{where}: page not in {lang}")
            for what, words in secrets.items():
                if role not in MAY_SEE[what]:
                    shown = sorted(w for w in words if w in body or w in unescape(body))
                    if shown:
                        problems.append(f"{where}: shows the {what}: {shown}")
            clean = removers[key](page_text(body))
            wrong = wrong_language(clean, lang)
            if wrong:
                problems.append(f"{where}: words of the other language: {wrong}")
    return problems, opened


def report(problems: list[str]) -> str:
    return f"{len(problems)} problems:\n" + "\n".join(problems[:80])


# -- the tests -------------------------------------------------------------------------
def test_every_get_route_is_in_the_table(app):
    rules = get_rules(app)
    endpoints = {r.endpoint for r in rules}
    in_table = {e for e, _ in EXPECTED}
    assert sorted(endpoints - in_table) == [], "GET routes with no row in EXPECTED"
    assert sorted(in_table - endpoints) == [], "rows for routes that do not exist (or take no GET)"
    for key, row in EXPECTED.items():
        assert len(row.split()) == len(ROLES), key


def test_every_record_state_is_opened_on_every_route_that_takes_one(app, make_app):
    """A record route has a row for each state of its kind of record (a new state of the
    board needs its rows)."""
    board = build_board(app)
    for rule in get_rules(app):
        for kind, argument in RECORD_ARGUMENT.items():
            if argument in rule.arguments:
                have = {s for e, s in EXPECTED if e == rule.endpoint}
                assert sorted(set(board.states_of(kind)) - have) == [], rule.endpoint
        if not rule.arguments - {"filename"}:
            have = {s for e, s in EXPECTED if e == rule.endpoint}
            assert have <= set(QUERIES), rule.endpoint


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_sweep(app, login, lang):
    board = build_board(app)
    before = table_snapshot(app)
    problems, opened = sweep(app, board, lang, login)
    assert not problems, report(problems)
    assert opened == len(EXPECTED) * len(ROLES)
    assert table_snapshot(app) == before, "a GET changed stored records"


def test_staff_list_counts_no_drafts(app, login):
    board = build_board(app)
    staff = login(app.test_client(), board.users["staff"])
    html = staff.get("/admin/?status=all").get_data(as_text=True)
    pill = re.search(r'status=all"[^>]*>[^<]*<span class="count-pill">(\d+)</span>', html)
    with app.app_context():
        not_drafts = db.session.scalar(
            sa.select(sa.func.count()).select_from(Demand).where(Demand.status != DemandStatus.DRAFT))
        drafts = db.session.scalar(
            sa.select(sa.func.count()).select_from(Demand).where(Demand.status == DemandStatus.DRAFT))
    assert drafts == 2 and pill, html
    assert int(pill.group(1)) == not_drafts


def test_an_anonymous_poster_is_named_to_the_supplier_it_shortlisted(app, login):
    board = build_board(app)
    colleague = login(app.test_client(), board.users["sup_a2"])  # same firm as the sender
    with app.app_context():
        revealed = db.session.get(Demand, board.records["revealed"][1]).organization.name
        hidden = db.session.get(Demand, board.records["anonymous"][1]).organization.name
    page = colleague.get(f"/demands/{board.records['revealed'][1]}").get_data(as_text=True)
    assert revealed in page and "qian.contact@example.com" in page
    assert revealed in colleague.get("/supplier/replies").get_data(as_text=True)
    # Only a sent reply on the other anonymous demand: still hidden there.
    page = colleague.get(f"/demands/{board.records['anonymous'][1]}").get_data(as_text=True)
    assert hidden not in page and "hidden.contact@example.com" not in page
    assert "我们可以承担站台门安全联动升级" in colleague.get("/supplier/replies").get_data(as_text=True)
