"""The read-only HSDS 3.0 API over the published directory: a thin layer over `search` and
the publish's tables and stored service documents, with every error mapped here, once."""

import inspect
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
import orjson
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicemap.api import queries
from servicemap.api.current import CurrentVersion, Served
from servicemap.api.postgres_bodies import PostgresBodies
from servicemap.api.security import SecuritySettings, add_security
from servicemap.publish import (
    NoDirectoryPublished,
    PublishedVersion,
    backend,
    current_version,
    directory_engine,
)
from servicemap.publish.db import reading, request_engine
from servicemap.search import MAX_QUERY_LENGTH, InvalidQuery, SearchFilters, amsterdam_now, rank
from servicemap.search.query import DEFAULT_RADIUS_KM, MAX_AGE, MAX_RADIUS_KM
from servicemap.search.query import MAX_LIMIT as MAX_SEARCH_HITS

_log = logging.getLogger(__name__)

API_VERSION = "1.0"
# What a client is told to wait when the database does not answer (a restart takes seconds).
DATABASE_RETRY_AFTER_SECONDS = 5
HSDS_VERSION = "3.0"
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
DEFAULT_PER_PAGE = 25
MAX_FILTER_LENGTH = 100
BODY_READERS = 4
# Searches that one process runs at once in threads (see `create_app`).
SEARCHERS = 2
# The largest directory whose searches run on SQLite on the event loop (see `create_app`).
INLINE_SEARCH_SERVICES = 10_000


class ErrorBody(BaseModel):
    detail: str


class DirectoryVersionInfo(BaseModel):
    id: str
    published_at: datetime
    services: int
    organizations: int


class RootBody(BaseModel):
    api_version: str
    hsds_version: str
    openapi_url: str
    directory_version: DirectoryVersionInfo


class Page(BaseModel):
    """The HSDS 3.0 paginated body."""

    total_items: int
    total_pages: int
    page_number: int
    size: int
    first_page: bool
    last_page: bool
    empty: bool
    contents: list[dict[str, Any]]


class ServicesQuery(BaseModel):
    """The query of `GET /services`, validated in one step: FastAPI's checks of twenty
    parameters declared one by one cost some 0.3 ms a request, a third of a search of a
    directory of a few hundred services. The OpenAPI document lists these same fields."""

    model_config = ConfigDict(extra="ignore")

    search: str | None = Field(
        None,
        max_length=MAX_QUERY_LENGTH,
        description=(
            "Full-text search (Dutch stemming, synonyms, typos); ranked, at most "
            f"{MAX_SEARCH_HITS} hits in all. Without it, the services that pass the "
            "filters are listed by name."
        ),
    )
    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1")
    per_page: int = Field(
        DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE, description=f"Items per page, 1 to {MAX_PER_PAGE}"
    )
    taxonomy_term_id: str | None = Field(None, max_length=MAX_FILTER_LENGTH)
    organization_id: str | None = Field(None, max_length=MAX_FILTER_LENGTH)
    modified_after: datetime | None = Field(
        None,
        description="Only services last seen on their sources after this moment (ISO 8601; UTC if naive)",
    )
    domain: str | None = Field(None, max_length=MAX_FILTER_LENGTH, description="Life domain id")
    audience: str | None = Field(None, max_length=MAX_FILTER_LENGTH, description="Audience term")
    sector: str | None = Field(None, max_length=MAX_FILTER_LENGTH, description="Sector term")
    access: str | None = Field(None, max_length=MAX_FILTER_LENGTH, description="Access-route term")
    municipality: str | None = Field(None, max_length=MAX_FILTER_LENGTH)
    zrm: str | None = Field(None, max_length=MAX_FILTER_LENGTH, description="ZRM domain, e.g. 'Financiën'")
    positive_health: str | None = Field(
        None, max_length=MAX_FILTER_LENGTH, description="Positive Health dimension, e.g. 'Meedoen'"
    )
    language: str | None = Field(None, max_length=3, description="Language of the service, e.g. 'nl' or 'en'")
    age: int | None = Field(
        None,
        ge=0,
        le=MAX_AGE,
        description="A person's age in years: services whose audience admits it "
        "(a service for no particular age group always does)",
    )
    open_now: bool = Field(False, description="Only services open at this moment by their weekly hours")
    open_at: datetime | None = Field(
        None,
        description="Only services open at this moment by their weekly hours (ISO 8601; Dutch time if naive)",
    )
    include_inactive: bool = Field(
        False, description="Also services no longer found on their sources (status 'inactive')"
    )
    full: bool = Field(
        False,
        description="Each service fully nested, as `/services/{id}` gives it; by default, as HSDS 3.0 "
        "lists services, its one-to-one fields with its organization",
    )
    postcode: str | None = Field(
        None, max_length=MAX_FILTER_LENGTH, description="Services near this postcode ('3511 AB')"
    )
    radius_km: float | None = Field(
        None,
        gt=0,
        le=MAX_RADIUS_KM,
        description=f"Distance from `postcode`; {DEFAULT_RADIUS_KM:g} km if left out",
    )


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI query parameters for the fields of `model`, as FastAPI writes them for
    parameters declared one by one."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": field,
            **({"description": field["description"]} if "description" in field else {}),
        }
        for name, field in schema["properties"].items()
    ]


# `/services/{service_id}`'s one parameter, as FastAPI would write it for a declared `str`.
_SERVICE_ID = {
    "name": "service_id",
    "in": "path",
    "required": True,
    "schema": {"title": "Service Id", "type": "string"},
}


class SuggestionsBody(BaseModel):
    """Terms that complete `query`, for a search box's list of suggestions."""

    query: str
    suggestions: list[queries.Suggestion]


class _NotModified(Exception):
    def __init__(self, etag: str):
        self.etag = etag


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "A parameter the directory cannot answer, e.g. an unknown domain",
    },
    422: {"model": ErrorBody, "description": "A parameter of the wrong type or out of range"},
    429: {"model": ErrorBody, "description": "Too many requests from this client; see Retry-After"},
    503: {"model": ErrorBody, "description": "No directory has been published yet"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No object with this id"}
}
_CACHED: dict[int | str, dict[str, Any]] = {
    304: {"description": "The directory version is the one in If-None-Match"}
}

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description=f"Items per page, 1 to {MAX_PER_PAGE}")]
Filter = Annotated[str | None, Query(max_length=MAX_FILTER_LENGTH)]


def create_app(
    database_url: str, cors_origins: Sequence[str] = (), security: SecuritySettings | None = None
) -> FastAPI:
    """The API for the directory at `database_url` (which is never logged nor shown); the rate
    limit from `security`, else from the environment (`SecuritySettings.from_env`)."""
    sqlite = backend(database_url) == "sqlite"
    stored_bodies = None if sqlite else PostgresBodies(database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if stored_bodies is not None:
            await stored_bodies.open()
        yield
        if stored_bodies is not None:
            await stored_bodies.close()

    app = FastAPI(
        title="servicemap — sociale kaart (HSDS 3.0)",
        version=API_VERSION,
        description="Read-only Open Referral HSDS 3.0 API over the published directory of services.",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(_DirectRoutes, api=app)  # the innermost: see there
    app.add_middleware(_RefuseNul)
    app.add_middleware(_ServerFault)  # inside CORS and the security headers, which its answer carries
    add_security(app, security or SecuritySettings.from_env(cors_origins))
    _add_error_handlers(app)

    def snapshot() -> Iterator[Connection]:
        """One connection, and so one transaction, per request: the version and its rows are read
        in one snapshot, and a publish pruning that version meanwhile takes nothing away."""
        directory_engine(database_url)  # migrated on first use
        with reading(request_engine(database_url)) as connection:
            yield connection

    Snapshot = Annotated[Connection, Depends(snapshot)]

    def directory(request: Request, response: Response, connection: Snapshot) -> PublishedVersion:
        """The current version, read in the request's snapshot, for a route that reads its rows;
        answers 304 when the client has it, else sets the caching headers."""
        served = Served.of(current_version(database_url, connection))
        if served.etag in _etags(request.headers.get("if-none-match", "")):
            raise _NotModified(served.etag)
        response.headers.update(served.headers)
        return served.version

    Directory = Annotated[PublishedVersion, Depends(directory)]

    current = CurrentVersion(database_url)

    def known_version(request: Request) -> Served:
        """The current version as this process last read it (see CurrentVersion), without a
        connection; answers 304 when the client has it."""
        directory_engine(database_url)  # migrated on first use
        served = current.get()
        if served.etag in _etags(request.headers.get("if-none-match", "")):
            raise _NotModified(served.etag)
        return served

    async def known_directory(request: Request, response: Response) -> PublishedVersion:
        """`known_version` with its caching headers set, for a route that reads no rows but
        what is kept per version: it needs no snapshot (a connection, a read of the version)
        to answer consistently. On the event loop, as for the hot routes: no thread hand-off."""
        served = known_version(request)
        response.headers.update(served.headers)
        return served.version

    Known = Annotated[PublishedVersion, Depends(known_directory)]

    @app.get(
        "/", response_model=RootBody, responses={**_CACHED, **_ERRORS}, summary="API and directory version"
    )
    async def root(version: Known) -> RootBody:
        return RootBody(
            api_version=API_VERSION,
            hsds_version=HSDS_VERSION,
            openapi_url="/openapi.json",
            directory_version=DirectoryVersionInfo(
                id=version.id,
                published_at=version.published_at,
                services=version.services,
                organizations=version.organizations,
            ),
        )

    # PostgreSQL's reads wait on the network, so they run in threads, fewer at once than the
    # connection pool holds. SQLite's are work of this process alone (about 1 ms for a body,
    # and for a search of a directory of a few thousand services): done on the event loop,
    # they save the thread hand-offs (0.2-0.3 ms each here), which cost more under load (each
    # waits for the interpreter lock) than the read itself. A search of a larger directory
    # takes up to tens of milliseconds: it runs in a thread, and the loop answers others meanwhile.
    # Searches in threads take turns, SEARCHERS at once, first come first served. Run all at
    # once (up to anyio's 40 threads), they share the CPU, so each took as long as all of them
    # together, and a search of many matches as long as several. On SQLite they are work of
    # this process alone (two at a time: SQLite releases the interpreter lock, so one ranks
    # while another runs Python); on PostgreSQL two keep this process and the server busy
    # (the server ranks one while this process reads the other's answer). At 100,000
    # services under 20 connections as fast as they go, p95: SQLite 87-105 -> 56-61 ms,
    # PostgreSQL 121 -> 70-74 ms, each with more searches per second.
    readers = None if sqlite else anyio.CapacityLimiter(BODY_READERS)
    searchers = anyio.CapacityLimiter(SEARCHERS)
    app.state.searchers = searchers  # the professionals' search page takes the same turns

    def search_page(
        served: Served, search_text: str, filters: SearchFilters, page: int, per_page: int, full: bool
    ) -> tuple[Served, list[bytes], int]:
        """A page of services and their number, read in one snapshot and at most one trip to a
        worker thread: a search answers in about a millisecond on a small directory, which more
        trips and reads (a connection opened in a dependency, the version read again) would double.
        When a publish has made another version current since `served` was known, the page is
        served as the version the search read. A search ranks its hits (at most
        MAX_SEARCH_HITS) and pages them; a list reads one page. Each service as HSDS 3.0 lists
        it, or `full`."""
        with reading(request_engine(database_url)) as connection:
            start = (page - 1) * per_page
            if search_text.strip():
                found = rank(connection, database_url, search_text, filters, limit=MAX_SEARCH_HITS)
                ids = [service_id for service_id, _ in found.ranked][start : start + per_page]
                total = len(found.ranked)
            else:
                found = rank(
                    connection, database_url, "", filters, limit=per_page, offset=start, counted=True
                )
                ids = [service_id for service_id, _ in found.ranked]
                total = found.total
            if found.version != served.version.id:
                served = Served.of(current_version(database_url, connection))
            return served, queries.service_bodies(connection, database_url, found.version, ids, full), total

    @_takes_request(
        app,
        "/services",
        response_model=Page,
        responses={**_CACHED, **_ERRORS},
        summary="Search or list services",
        description="A page of services, each as HSDS 3.0 lists it: its one-to-one fields and its "
        "organization's (no phones, locations, taxonomy terms or lineage; `full=true` or "
        "`/services/{id}` gives those).",
        openapi_extra={"parameters": _query_parameters(ServicesQuery)},
    )
    async def list_services(request: Request) -> Response:
        try:
            asked = ServicesQuery.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
            ) from None
        if asked.open_now and asked.open_at is not None:
            raise InvalidQuery("give open_now or open_at, not both")
        filters = SearchFilters(
            domain=asked.domain,
            zrm=asked.zrm,
            positive_health=asked.positive_health,
            audience=asked.audience,
            sector=asked.sector,
            access=asked.access,
            municipality=asked.municipality,
            language=asked.language,
            near_postcode=asked.postcode,
            radius_km=asked.radius_km,
            open_at=amsterdam_now() if asked.open_now else asked.open_at,
            age=asked.age,
            organization_id=asked.organization_id,
            taxonomy_term_id=asked.taxonomy_term_id,
            modified_after=_utc(asked.modified_after),
            include_inactive=asked.include_inactive,
        )
        search_text, page, per_page = asked.search or "", asked.page, asked.per_page
        served = known_version(request)
        if sqlite and served.version.services <= INLINE_SEARCH_SERVICES:
            served, bodies, total = search_page(served, search_text, filters, page, per_page, asked.full)
        else:
            served, bodies, total = await anyio.to_thread.run_sync(
                search_page, served, search_text, filters, page, per_page, asked.full, limiter=searchers
            )
        return _page_response(bodies, total, page, per_page, served.headers)

    def read_service(served: Served, service_id: str) -> tuple[Served, bytes | None]:
        """A body not sent before, read in one snapshot from the document the publish stored;
        when the version `served` names has no such service (an unknown id, or a version pruned
        meanwhile), the version current in that snapshot is asked too, so a 404 names the
        current version. On PostgreSQL only for that: its bodies are read by `stored_bodies`."""
        with reading(request_engine(database_url)) as connection:
            body = queries.service_body(connection, database_url, served.version.id, service_id)
            if body is None:
                latest = current_version(database_url, connection)
                if latest.id != served.version.id:
                    served = Served.of(latest)
                    body = queries.service_body(connection, database_url, latest.id, service_id)
        return served, body

    @_takes_request(
        app,
        "/services/{service_id}",
        response_model=dict[str, Any],
        responses={**_CACHED, **_NOT_FOUND, **_ERRORS},
        summary="One service, full HSDS object with its lineage (metadata: source, URL, last seen)",
        openapi_extra={"parameters": [_SERVICE_ID]},
    )
    async def get_service(request: Request) -> Response:
        # The hot path: the current version known without a database read, the body stored
        # by the publish and kept as bytes; only a body not kept yet costs a read. The id is
        # read from the path, as no parameter is solved here (see _RequestRoute).
        service_id = request.path_params["service_id"]
        served = known_version(request)
        body = queries.cached_service_body(database_url, served.version.id, service_id)
        if body is None and stored_bodies is not None:
            body = await stored_bodies.body(served.version.id, service_id)
            if body is not None:
                queries.remember_service_body(database_url, served.version.id, service_id, body)
        if body is None:  # on SQLite; on PostgreSQL an id the version `served` names lacks
            if readers is None:
                served, body = read_service(served, service_id)
            else:
                served, body = await anyio.to_thread.run_sync(
                    read_service, served, service_id, limiter=readers
                )
        if body is None:
            raise HTTPException(
                404, f"no service with id {service_id!r} in directory version {served.version.id}"
            )
        return Response(body, media_type="application/json", headers=served.headers)

    @app.get(
        "/suggestions",
        response_model=SuggestionsBody,
        responses={**_CACHED, **_ERRORS},
        summary="Search-box suggestions: domain labels, synonyms and service names completing `q`",
    )
    def suggest(
        version: Known,
        q: Annotated[
            str,
            Query(
                max_length=MAX_QUERY_LENGTH,
                description=(
                    "What was typed so far; matched at the start of any word of a term, accents "
                    f"and case ignored. Fewer than {queries.MIN_SUGGESTION_PREFIX} letters: no suggestions."
                ),
            ),
        ] = "",
        limit: Annotated[int, Query(ge=1, le=queries.MAX_SUGGESTIONS)] = 10,
    ) -> SuggestionsBody:
        found = queries.suggestions(database_url, version.id, q, limit)
        return SuggestionsBody(query=q, suggestions=found)

    @app.get("/organizations", response_model=Page, responses={**_CACHED, **_ERRORS}, summary="Organizations")
    def list_organizations(
        version: Directory, connection: Snapshot, page: PageNumber = 1, per_page: PerPage = DEFAULT_PER_PAGE
    ) -> Page:
        found = queries.organizations(connection, version.id)
        return _paged(found, page, per_page)

    @app.get(
        "/organizations/{organization_id}",
        responses={**_CACHED, **_NOT_FOUND, **_ERRORS},
        summary="One organization with its services",
    )
    def get_organization(version: Directory, connection: Snapshot, organization_id: str) -> dict[str, Any]:
        found = queries.organizations(connection, version.id, organization_id)
        if not found:
            raise HTTPException(
                404, f"no organization with id {organization_id!r} in directory version {version.id}"
            )
        return found[0]

    @app.get("/taxonomies", response_model=Page, responses={**_CACHED, **_ERRORS}, summary="Taxonomies")
    def list_taxonomies(
        version: Directory, connection: Snapshot, page: PageNumber = 1, per_page: PerPage = DEFAULT_PER_PAGE
    ) -> Page:
        found = queries.taxonomies(connection, version.id)
        return _paged(found, page, per_page)

    @app.get(
        "/taxonomy_terms", response_model=Page, responses={**_CACHED, **_ERRORS}, summary="Taxonomy terms"
    )
    def list_taxonomy_terms(
        version: Directory,
        connection: Snapshot,
        page: PageNumber = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        taxonomy_id: Filter = None,
    ) -> Page:
        found = queries.taxonomy_terms(connection, version.id, taxonomy_id)
        return _paged(found, page, per_page)

    return app


class _RequestRoute(APIRoute):
    """A route whose endpoint takes the request alone and returns its Response: the endpoint is
    called as it is. FastAPI's handler around an endpoint (solving its parameters, running its
    dependencies, validating what it returns) cost the hot routes, which take none of that,
    more than answering from memory; the route's declaration still writes its OpenAPI. So
    nothing declared on such a route is solved or validated: a route that needs a parameter
    or a dependency is declared with `app.get`. A request is passed to the endpoint by
    _DirectRoutes; the route itself answers only when that does not (see there)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        return self.endpoint


class _DirectRoutes:
    """Passes a request that a _RequestRoute takes straight to its endpoint, from inside the
    app's own middleware (security headers, rate limit, NUL refusal: they apply as to any
    request) but before FastAPI's router and the machinery it runs for every request: a
    Request, exit stacks for dependencies, the exception middleware. Those routes use none
    of it, and it cost a search of the demo directory 0.03-0.04 ms at p95 over HTTP, a tenth
    of all the API adds to the search (benchmarks/api.py). Each route decides whether it takes a
    request (path, method, root path), as in the router; an error is answered by the app's
    exception handlers, as on any route. Every other request goes on to FastAPI, and so does
    any a route matches only in part (a HEAD, say), which FastAPI answers as before. A route
    declared before these must not take their paths: this does not look at it."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        # Built with the middleware, at the first request: every route is declared by then.
        self.routes = [route for route in api.router.routes if isinstance(route, _RequestRoute)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    await self._answer(route, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, route: _RequestRoute, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # to _ServerFault, as from any route
            # On the event loop: every handler of this app only builds a small answer.
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Callable | None:
        """The handler the exception middleware would pick: by status for an HTTPException,
        else by the nearest class; none for an error left to _ServerFault (no class of it but
        Exception and above has a handler)."""
        handlers = self.api.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for kind in type(exc).__mro__:
            if kind is Exception:
                return None
            if kind in handlers:
                return handlers[kind]
        return None


def _takes_request(app: FastAPI, path: str, **declared: Any) -> Callable:
    """`app.get(path, **declared)` for an endpoint `async (request) -> Response` (see _RequestRoute)."""

    def add(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        app.router.add_api_route(
            path, endpoint, methods=["GET"], route_class_override=_RequestRoute, **declared
        )
        return endpoint

    return add


class _ServerFault:
    """Answers an error that no handler took with a JSON 500, and logs it with its traceback.
    Left to Starlette's server error middleware, the error went on to uvicorn, which closed
    the connection after the answer without saying so: a client's next request on that kept
    connection failed with a reset. An error after the answer has begun still goes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except Exception:
            if started:
                raise
            _log.exception("%s %s failed", scope["method"], scope["path"])
            body = {"detail": "the server failed to answer this request; the error is logged"}
            await JSONResponse(body, 500)(scope, receive, send)


class _RefuseNul:
    """Answers 400 to a request with a NUL character in its path or a query parameter: a NUL
    is no text a directory holds, and PostgreSQL refuses it as a parameter. Plain ASGI, so
    that the check costs a substring test: as a FastAPI dependency of every route, solving it
    cost a request more than the check itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = _nul_in(scope) if scope["type"] == "http" else None
        if problem is None:
            await self.app(scope, receive, send)
        else:
            await JSONResponse({"detail": f"{problem} contains a NUL character; expected text"}, 400)(
                scope, receive, send
            )


def _nul_in(scope: Scope) -> str | None:
    """What holds a NUL in the request of `scope`: the path or a parameter's name; None when nothing."""
    if "\x00" in scope["path"]:
        return "the path"
    raw = scope["query_string"]
    if b"%00" in raw or b"\x00" in raw:  # else no parameter can decode to one
        for name, value in QueryParams(raw).multi_items():
            if "\x00" in name or "\x00" in value:
                return f"parameter {name!r}"
    return None


def _etags(header: str) -> set[str]:
    tags = {tag.strip() for tag in header.split(",")}
    return tags | {tag.removeprefix("W/") for tag in tags}


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _paged(items: list[dict], page: int, per_page: int) -> Page:
    start = (page - 1) * per_page
    return _page(items[start : start + per_page], len(items), page, per_page)


def _page_response(
    bodies: list[bytes], total: int, page: int, per_page: int, headers: dict[str, str]
) -> Response:
    """The HSDS page around service bodies serialized before: no service is parsed, validated
    or serialized again, nor the page's own fields (a model of them cost 50 us a search)."""
    head = orjson.dumps(_page_fields(len(bodies), total, page, per_page))[:-1]
    content = b"".join((head, b',"contents":[', b",".join(bodies), b"]}"))
    return Response(content, media_type="application/json", headers=headers)


def _page(contents: list[dict], total: int, page: int, per_page: int) -> Page:
    return Page(**_page_fields(len(contents), total, page, per_page), contents=contents)


def _page_fields(size: int, total: int, page: int, per_page: int) -> dict[str, Any]:
    """The fields of an HSDS page but its contents. A page beyond the last is empty, not an
    error: a client paging on sees where it ends."""
    total_pages = math.ceil(total / per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": size,
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": size == 0,
    }


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    def invalid_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0])
            problems.append(f"{where}={error.get('input')!r}: {error['msg']}")
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)

    @app.exception_handler(InvalidQuery)
    def bad_request(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(NoDirectoryPublished)
    def nothing_published(request: Request, exc: NoDirectoryPublished) -> JSONResponse:
        # The exception's own message names the database; the API does not show it.
        return JSONResponse({"detail": "no directory has been published yet"}, status_code=503)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    def database_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
        # The database is down, restarting or refusing connections: worth trying again soon.
        # Its error names the server and the statement; they go to the log, not to the client.
        _log.warning("%s %s: the database is unavailable: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            {"detail": "the directory's database is unavailable; try again in a few seconds"},
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(_NotModified)
    def not_modified(request: Request, exc: _NotModified) -> Response:
        return Response(status_code=304, headers={"ETag": exc.etag, "Cache-Control": "no-cache"})
