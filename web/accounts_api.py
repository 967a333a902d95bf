"""Accounts over JSON: who am I, my API keys, my data (export, delete); an admin manages users."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select

from catalog import User
from search.recommend import events as user_events

from . import accounts, auth
from .api import API_PREFIX, needs_caller
from .extensions import current_catalog
from .recommend_api import PageArgs

bp = Blueprint("accounts", __name__, url_prefix=API_PREFIX, description="Accounts, API keys and your own data")

_NOT_BLANK = ma.validate.Regexp(r"[\s\S]*\S", error="must not be blank")


class AccountSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    username = ma.fields.String(allow_none=True, metadata={"description": "null for a user from before accounts"})
    is_admin = ma.fields.Boolean(required=True)
    claimed = ma.fields.Boolean(required=True, metadata={"description": "has a user name to sign in with"})
    created_at = ma.fields.DateTime(required=True)


class AccountList(ma.Schema):
    total = ma.fields.Integer(required=True)
    offset = ma.fields.Integer(required=True)
    users = ma.fields.List(ma.fields.Nested(AccountSchema), required=True)


class AccountCreate(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64),
                                metadata={"description": "what they sign in with: letters, digits, . _ @ + -"})
    name = ma.fields.String(validate=[ma.validate.Length(min=1, max=user_events.MAX_NAME), _NOT_BLANK],
                            metadata={"description": "shown in the UI (default: the user name)"})
    password = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=accounts.MIN_PASSWORD,
                                                                            max=accounts.MAX_PASSWORD),
                                metadata={"description": "none: the account signs in only through an auth "
                                                         "proxy, or with API keys"})
    is_admin = ma.fields.Boolean(load_default=False)


class KeyCreate(ma.Schema):
    name = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=accounts.MAX_KEY_NAME), _NOT_BLANK],
                            metadata={"description": "what the key is for, to tell keys apart"})


class KeySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True, metadata={"description": "the key's first characters"})
    created_at = ma.fields.DateTime(required=True)
    last_used_at = ma.fields.DateTime(allow_none=True)


class NewKey(KeySchema):
    key = ma.fields.String(required=True, metadata={"description": "the key itself, shown this once"})


class KeyList(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(KeySchema), required=True)


class Export(ma.Schema):
    account = ma.fields.Nested(AccountSchema, required=True)
    events = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "everything the user did, "
                                                                                       "searches included"})
    api_keys = ma.fields.List(ma.fields.Nested(KeySchema), required=True)
    exported_at = ma.fields.DateTime(required=True)


class Deleted(ma.Schema):
    deleted = ma.fields.Integer(required=True, metadata={"description": "the id of the deleted account"})


def _needs_caller(view):
    return needs_caller(bp, view)


def _own(s) -> User:
    return s.get(User, auth.signed_in_user().id)


def _delete(s, user: User) -> dict:
    user_id = user.id
    try:
        accounts.delete_account(s, user)
    except accounts.AccountError as exc:
        abort(409, message=str(exc))
    return {"deleted": user_id}


@bp.route("/me")
class Me(MethodView):
    @bp.response(200, AccountSchema)
    @_needs_caller
    def get(self):
        """Who you are signed in as."""
        with current_catalog().session() as s:
            return accounts.account_dict(_own(s))

    @bp.response(200, Deleted)
    @bp.alt_response(409, schema=None, description="the last admin cannot go")
    @_needs_caller
    def delete(self):
        """Delete your account, with your whole history (searches included) and your keys."""
        with current_catalog().session() as s:
            return _delete(s, _own(s))


@bp.route("/me/export")
class MyExport(MethodView):
    @bp.response(200, Export)
    @_needs_caller
    def get(self):
        """Everything kept about you, as JSON."""
        with current_catalog().session() as s:
            return accounts.export(s, _own(s))


@bp.route("/me/keys")
class MyKeys(MethodView):
    @bp.response(200, KeyList)
    @_needs_caller
    def get(self):
        """Your API keys (never the keys themselves: those are shown once, when made)."""
        with current_catalog().session() as s:
            return {"keys": [accounts.key_dict(k) for k in accounts.keys(s, _own(s).id)]}

    @bp.arguments(KeyCreate)
    @bp.response(201, NewKey)
    @_needs_caller
    def post(self, body):
        """Make an API key for a script: send it as `Authorization: Bearer <key>`."""
        with current_catalog().session() as s:
            key, secret = accounts.create_key(s, _own(s), body["name"])
            return {**accounts.key_dict(key), "key": secret}


@bp.route("/me/keys/<id:key_id>")
class MyKey(MethodView):
    @bp.response(204)
    @bp.alt_response(404, schema=None, description="no such key among yours")
    @_needs_caller
    def delete(self, key_id):
        """Revoke a key: requests with it are refused from now on."""
        with current_catalog().session() as s:
            if not accounts.revoke_key(s, _own(s).id, key_id):
                abort(404, message=f"no key with id {key_id} among yours")


@bp.route("/users")
class Users(MethodView):
    @bp.arguments(PageArgs, location="query", as_kwargs=True)
    @bp.response(200, AccountList)
    @_needs_caller
    def get(self, offset, limit):
        """Every account, oldest first (admins only)."""
        auth.admin()
        with current_catalog().session() as s:
            users = s.scalars(select(User).order_by(User.id).offset(offset).limit(limit)).all()
            return {"total": s.scalar(select(func.count()).select_from(User)), "offset": offset,
                    "users": [accounts.account_dict(u) for u in users]}

    @bp.arguments(AccountCreate)
    @bp.response(201, AccountSchema)
    @bp.alt_response(422, schema=None, description="the user name is taken or not valid")
    @_needs_caller
    def post(self, body):
        """Make an account (admins only)."""
        auth.admin()
        with current_catalog().session() as s:
            try:
                user = accounts.create_account(s, body["username"], body.get("password"), name=body.get("name"),
                                               admin=body["is_admin"])
            except accounts.AccountError as exc:
                abort(422, message=str(exc))
            return accounts.account_dict(user)


@bp.route("/users/<id:user_id>")
class UserById(MethodView):
    @bp.response(200, AccountSchema)
    @bp.alt_response(404, schema=None, description="no such user (admins)")
    @_needs_caller
    def get(self, user_id):
        """One account: your own, or anyone's for an admin."""
        with current_catalog().session() as s:
            return accounts.account_dict(auth.user_acted_for(s, user_id))

    @bp.response(200, Deleted)
    @bp.alt_response(404, schema=None, description="no such user (admins)")
    @bp.alt_response(409, schema=None, description="the last admin cannot go")
    @_needs_caller
    def delete(self, user_id):
        """Delete an account and its history: your own, or anyone's for an admin."""
        with current_catalog().session() as s:
            return _delete(s, auth.user_acted_for(s, user_id))
