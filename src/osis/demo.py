"""Synthetic hero_agent activity for a demo store (`osis demo-data`).

Weeks of plausible agent work: six users of different habits hold conversations whose
turns call models and tools. Each turn is a user message, model calls that pick tools,
the tool calls (audit entries and tool messages) and an answer, so the audit log, the
usage log and the messages tell one consistent story. Tool use is skewed (a few tools
do most of the work), durations are log-normal per tool, activity follows office hours,
dips at weekends and grows over the weeks; every user has memories in every category.

The same seed and day give the same data. Everything is written through the generated
client, in batches, several at a time.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final, TypeVar

from osis_ai import models as m
from osis_ai.client import AsyncAiClient
from pydantic import BaseModel

from osis.rpc.client import AsyncCrud

MAX_DAYS: Final = 365
BATCH: Final = 500
PARALLEL_BATCHES: Final = 4

M = TypeVar("M", bound=BaseModel)


# -- the cast ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    median_ms: float
    spread: float  # sigma of the log-normal duration
    failure_rate: float
    arguments: dict[str, tuple[Any, ...]]  # each argument's typical values
    results: tuple[str, ...]
    errors: tuple[str, ...]


CITIES = ("Lisbon", "Ghent", "Kyoto", "Oslo", "Montreal", "Porto", "Vienna", "Nairobi")
REPOS = ("api", "web", "billing", "infra", "mobile")
PATHS = ("src/app.py", "README.md", "config/settings.toml", "tests/test_api.py", "docs/plan.md", "Makefile")
TOPICS = ("vector databases", "solar panel subsidies", "rust async runtimes", "sourdough hydration",
          "EU AI act", "heat pumps", "postgres partitioning")

# Ordered from most to least used: _tool_weight makes the use fall off with the rank.
TOOLS: Final[tuple[Tool, ...]] = (
    Tool("web_search", 850, 0.55, 0.06, {"query": TOPICS, "max_results": (5, 10)},
         ("10 results: top hit from docs site", "8 results, 3 news articles", "5 results: guidance first"),
         ("error: search backend timed out after 30s", "error: rate limited (429)")),
    Tool("read_file", 35, 0.7, 0.03, {"path": PATHS},
         ("412 lines, 14.2 kB", "88 lines, 2.1 kB", "1,204 lines, 51 kB"),
         ("error: file not found", "error: permission denied")),
    Tool("memory_recall", 22, 0.5, 0.01, {"query": ("home city", "preferred language", "current project")},
         ("2 memories (confidence 0.92, 0.71)", "1 memory (confidence 0.88)", "no matching memory"),
         ("error: store unavailable",)),
    Tool("shell", 1400, 0.9, 0.12, {"cmd": ("make test", "ls -la", "git log -5", "pytest -q", "df -h")},
         ("exit 0, 37 lines of output", "exit 0", "exit 0: 128 passed in 4.2s"),
         ("exit 1: 2 failed, 126 passed", "exit 127: command not found", "error: killed after 120s")),
    Tool("write_file", 55, 0.6, 0.04, {"path": PATHS, "bytes": (312, 2048, 9150, 20480)},
         ("written", "written, 3 lines changed", "created"),
         ("error: disk quota exceeded", "error: path outside the workspace")),
    Tool("http_get", 620, 0.8, 0.09,
         {"url": ("https://api.example.com/v1/items", "https://api.example.com/v1/metrics",
                  "https://status.example.org/health")},
         ("200 OK, 4.1 kB JSON", "200 OK, 812 B", "304 Not Modified"),
         ("error: 503 Service Unavailable", "error: TLS handshake failed", "error: 404 Not Found")),
    Tool("python_exec", 2100, 0.75, 0.09, {"code_lines": (4, 12, 25, 60)},
         ("ok: returned a DataFrame 1,200 x 8", "ok: printed 14 lines", "ok: plot saved"),
         ("error: NameError: name 'df' is not defined", "error: timed out after 60s")),
    Tool("calendar_list", 280, 0.4, 0.02, {"days_ahead": (1, 7, 14)},
         ("6 events this week", "2 events tomorrow", "no events"),
         ("error: calendar token expired",)),
    Tool("email_search", 540, 0.5, 0.03, {"query": ("invoice", "from:boss", "flight", "unread")},
         ("12 threads", "3 threads, 1 unread", "no threads"),
         ("error: IMAP connection reset",)),
    Tool("summarize_url", 3300, 0.5, 0.07,
         {"url": ("https://blog.example.net/heat-pumps", "https://blog.example.net/vector-databases")},
         ("summary: 5 bullet points", "summary: 3 paragraphs"),
         ("error: page too large", "error: paywalled content")),
    Tool("memory_store", 30, 0.5, 0.01, {"key": ("home_city", "answer_language", "current_project")},
         ("stored", "updated existing memory"),
         ("error: conflicting key",)),
    Tool("weather", 330, 0.4, 0.02, {"city": CITIES},
         ("18°C, light rain", "24°C, sunny", "-2°C, snow showers"),
         ("error: unknown location",)),
    Tool("calendar_create", 430, 0.4, 0.05, {"title": ("1:1", "Dentist", "Team sync", "Flight"), "minutes": (30, 60)},
         ("created for Tue 10:00 UTC", "created, 3 invitees"),
         ("error: conflicts with an existing event",)),
    Tool("email_send", 760, 0.4, 0.04, {"to": ("team@example.com", "finance@example.com"), "attachments": (0, 1)},
         ("sent", "sent, 2 recipients"),
         ("error: recipient rejected",)),
    Tool("git_status", 110, 0.5, 0.01, {"repo": REPOS},
         ("clean", "2 files modified", "on branch fix/ci, 1 ahead"),
         ("error: not a git repository",)),
    Tool("sql_query", 240, 1.0, 0.08,
         {"sql": ("SELECT count(*) FROM orders", "SELECT * FROM users LIMIT 20",
                  "SELECT day, sum(amount) FROM sales GROUP BY day")},
         ("1 row", "20 rows", "31 rows"),
         ("error: relation does not exist", "error: statement timeout")),
    Tool("translate", 1150, 0.4, 0.02, {"to": ("fr", "de", "ja", "pt")},
         ("translated 240 words", "translated 1 paragraph"),
         ("error: unsupported language pair",)),
    Tool("maps_directions", 480, 0.45, 0.03, {"to": CITIES, "mode": ("transit", "walk")},
         ("38 min by transit", "1 h 12 min walk"),
         ("error: no route found",)),
    Tool("git_commit", 290, 0.5, 0.06, {"repo": REPOS, "files": (1, 2, 3, 6)},
         ("committed 3f2a91c", "committed 9b01e7d"),
         ("error: pre-commit hook failed",)),
    Tool("image_describe", 4100, 0.4, 0.05, {"image": ("upload_104.png", "whiteboard.jpg", "chart.png")},
         ("a bar chart of monthly revenue", "a photo of a whiteboard with a diagram"),
         ("error: image too large",)),
)


def _tool_weight(rank: int) -> float:
    # Zipf-like: the first tool is called about twenty times as often as the last.
    return float((rank + 1) ** -1.05)


@dataclass(frozen=True)
class Model:
    name: str
    prompt_scale: float  # typical prompt tokens of a first turn
    completion_scale: float


MODELS: Final[dict[str, Model]] = {
    model.name: model
    for model in (
        Model("gpt-4o-mini", 900, 180),
        Model("gpt-4o", 1400, 320),
        Model("claude-3-5-sonnet", 1600, 420),
        Model("claude-3-5-haiku", 800, 160),
        Model("llama-3.1-70b", 1100, 260),
        Model("mistral-large", 1200, 300),
    )
}


@dataclass(frozen=True)
class User:
    sid: str
    conversations_per_day: float
    models: dict[str, float]  # model -> share of this user's calls


USERS: Final[tuple[User, ...]] = (
    User("ada", 3.4, {"claude-3-5-sonnet": 5, "gpt-4o-mini": 3, "claude-3-5-haiku": 2}),
    User("grace", 2.6, {"gpt-4o": 4, "gpt-4o-mini": 4, "mistral-large": 1}),
    User("linus", 1.9, {"llama-3.1-70b": 5, "gpt-4o-mini": 2}),
    User("margaret", 1.4, {"claude-3-5-sonnet": 3, "gpt-4o": 2}),
    User("ken", 0.8, {"gpt-4o-mini": 5, "claude-3-5-haiku": 2}),
    User("barbara", 0.5, {"mistral-large": 3, "gpt-4o-mini": 2}),
)


@dataclass(frozen=True)
class Topic:
    title: str
    tools: tuple[str, ...]  # called more often in this kind of conversation
    asks: tuple[str, ...]


TOPIC_LIST: Final[tuple[Topic, ...]] = (
    Topic("Plan a weekend in {city}", ("web_search", "weather", "maps_directions", "calendar_create", "translate"),
          ("What's the weather in {city} this weekend?", "Find a quiet hotel near the old town.",
           "How do I get from the airport to the centre?", "Block Saturday in my calendar.")),
    Topic("Fix the failing {repo} build",
          ("shell", "read_file", "write_file", "git_status", "git_commit", "python_exec"),
          ("CI on {repo} is red again, can you look?", "Run the tests and show me what fails.",
           "Patch the flaky test and commit it.", "Is the branch clean now?")),
    Topic("Weekly numbers for the team", ("sql_query", "python_exec", "write_file", "email_send"),
          ("Pull last week's sales by day.", "Plot it and compare with the week before.",
           "Draft the summary mail to the team.")),
    Topic("Inbox triage", ("email_search", "email_send", "calendar_list", "memory_recall"),
          ("What needs an answer today?", "Reply to the invoice thread that we paid on Friday.",
           "Anything from my manager this week?")),
    Topic("Read up on {topic}", ("web_search", "summarize_url", "http_get", "memory_store"),
          ("Give me an overview of {topic}.", "Summarise the two most useful articles.",
           "Remember that I care about the cost side.")),
    Topic("Schedule the quarterly review", ("calendar_list", "calendar_create", "email_send", "memory_recall"),
          ("Find a 60 minute slot next week for the review.", "Invite finance and the team leads.")),
    Topic("Explore the signup data", ("sql_query", "python_exec", "read_file", "image_describe"),
          ("How many signups did we get per day this month?", "What does this chart I uploaded show?",
           "Break it down by country.")),
)

ANSWERS: Final = (
    "Done. Here's what I found, in short:", "Here is a summary of the results.", "All set; details below.",
    "I couldn't finish everything, but here is where things stand.", "Sure. Three things stand out:",
)

# (key, category, candidate values, tags)
MEMORY_POOL: Final[tuple[tuple[str, m.MemoryCategory, tuple[str, ...], tuple[str, ...]], ...]] = tuple(
    (key, m.MemoryCategory(category), values, tags)
    for key, category, values, tags in (
        ("home_city", "fact", ("Ghent", "Lisbon", "Oslo", "Montreal", "Kyoto"), ("location",)),
        ("employer", "fact", ("Acme Corp", "Initech", "Globex", "a small design studio"), ("work",)),
        ("job_title", "fact", ("staff engineer", "data analyst", "product manager", "founder"), ("work",)),
        ("timezone", "fact", ("Europe/Brussels", "America/Toronto", "Asia/Tokyo", "Europe/Lisbon"), ("location",)),
        ("team", "fact", ("platform", "growth", "payments", "research"), ("work",)),
        ("pet", "fact", ("a cat called Miso", "a border collie", "two goldfish"), ("personal",)),
        ("partner_name", "fact", ("Sam", "Alex", "Noor", "Kim"), ("personal",)),
        ("birthday_month", "fact", ("March", "July", "October", "December"), ("personal",)),
        ("main_language", "fact", ("Python", "Rust", "TypeScript", "Go"), ("work", "code")),
        ("car", "fact", ("none, cycles everywhere", "an electric hatchback"), ("personal",)),
        ("answer_language", "preference", ("English", "French", "Dutch", "Portuguese"), ("style",)),
        ("tone", "preference", ("concise", "friendly and brief", "formal"), ("style",)),
        ("summary_length", "preference", ("three bullet points", "one paragraph", "a short table"), ("style",)),
        ("units", "preference", ("metric", "metric, 24h clock"), ("style",)),
        ("meeting_slots", "preference", ("mornings only", "never on Fridays", "after 10:00"), ("calendar",)),
        ("code_style", "preference", ("type hints everywhere", "small functions", "tests first"), ("code",)),
        ("news_topics", "preference", ("climate tech", "databases", "football"), ("reading",)),
        ("coffee", "preference", ("flat white", "black, no sugar", "oat latte"), ("personal",)),
        ("travel_class", "preference", ("train over plane under 6 hours", "aisle seat"), ("travel",)),
        ("current_project", "context", ("billing migration to Postgres", "mobile app launch", "Q3 planning"),
         ("work",)),
        ("travel_plan", "context", ("conference in Lisbon in May", "family visit in August"), ("travel",)),
        ("moving_house", "context", ("moving to a new flat in June",), ("personal",)),
        ("deadline", "context", ("board deck due on the 28th", "release freeze next Friday"), ("work",)),
        ("onboarding", "context", ("new hire starting Monday, needs accounts",), ("work",)),
        ("health", "context", ("training for a half marathon",), ("personal",)),
        ("hiring", "context", ("interviewing two backend candidates",), ("work",)),
        ("deploy_procedure", "skill", ("tag, wait for CI, promote staging to prod, watch errors 15 min",), ("ops",)),
        ("expense_report", "skill", ("scan receipts, file in the finance portal, mail the summary",), ("finance",)),
        ("weekly_report", "skill", ("sales by day, week-on-week delta, three highlights",), ("reporting",)),
        ("db_backup_check", "skill", ("list last night's snapshots, restore the smallest to a scratch db",), ("ops",)),
        ("release_notes", "skill", ("group merged PRs by label, link issues, thank contributors",), ("code",)),
        ("standup_summary", "skill", ("yesterday, today, blockers; under 80 words",), ("work",)),
        ("trip_booking", "skill", ("compare train and flight door to door, then book the faster",), ("travel",)),
    )
)


# -- generation --------------------------------------------------------------------------------


@dataclass
class Activity:
    """What `generate` made, ready to write. Messages and memories point at conversations
    by index, since their sids exist only once the conversations are stored."""

    conversations: list[m.AgentConversation] = field(default_factory=list)
    messages: list[tuple[int, m.AgentMessage]] = field(default_factory=list)
    audit: list[m.AgentAuditEntry] = field(default_factory=list)
    usage: list[m.AgentUsageEntry] = field(default_factory=list)
    memories: list[tuple[int | None, m.AgentMemory]] = field(default_factory=list)


# Relative activity by UTC hour: quiet nights, busy office hours.
_HOURS: Final = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 7, 9, 10, 10, 9, 7, 5, 4, 3, 2, 2, 1)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _fill(text: str, rng: random.Random) -> str:
    return text.format(city=rng.choice(CITIES), repo=rng.choice(REPOS), topic=rng.choice(TOPICS))


class _Writer:
    """Builds the records of one conversation on a moving clock."""

    def __init__(self, activity: Activity, rng: random.Random, user: User, topic: Topic) -> None:
        self.activity, self.rng, self.user, self.topic = activity, rng, user, topic
        self.index = len(activity.conversations)
        self.tool_weights = [
            _tool_weight(rank) * (4.0 if tool.name in topic.tools else 1.0) for rank, tool in enumerate(TOOLS)
        ]

    def message(self, at: datetime, role: m.MessageRole, content: str, **extra: Any) -> None:
        self.activity.messages.append(
            (self.index, m.AgentMessage(conversation_sid="", role=role, content=content, user_sid=self.user.sid,
                                        created_at=at, **extra))
        )

    def model_call(self, at: datetime, model: Model, turn: int, tool_round: int) -> datetime:
        rng = self.rng
        # The context grows with every turn and every tool result fed back.
        prompt = int(model.prompt_scale * (1 + 0.6 * turn + 0.35 * tool_round) * rng.lognormvariate(0, 0.35))
        completion = int(model.completion_scale * rng.lognormvariate(0, 0.5) * (0.4 if tool_round else 1.0))
        completion = max(completion, 8)
        self.activity.usage.append(
            m.AgentUsageEntry(model=model.name, prompt_tokens=prompt, completion_tokens=completion,
                              total_tokens=prompt + completion, user_sid=self.user.sid, created_at=at)
        )
        return at + timedelta(seconds=1 + completion / 60)

    def tool_call(self, at: datetime) -> datetime:
        rng = self.rng
        tool = rng.choices(TOOLS, weights=self.tool_weights)[0]
        duration = max(1, int(tool.median_ms * rng.lognormvariate(0, tool.spread)))
        ok = rng.random() >= tool.failure_rate
        preview = rng.choice(tool.results if ok else tool.errors)
        self.activity.audit.append(
            m.AgentAuditEntry(tool_name=tool.name,
                              arguments=json.dumps({k: rng.choice(v) for k, v in tool.arguments.items()}),
                              result_preview=preview, success=ok, duration_ms=duration, user_sid=self.user.sid,
                              created_at=at)
        )
        done = at + timedelta(milliseconds=duration)
        self.message(done, m.MessageRole.TOOL, preview, tool_name=tool.name)
        return done

    def conversation(self, start: datetime) -> None:
        rng = self.rng
        model = MODELS[rng.choices(list(self.user.models), weights=list(self.user.models.values()))[0]]
        at = start
        self.message(at, m.MessageRole.SYSTEM,
                     f"You are hero_agent, assistant of {self.user.sid}. Use tools when they help.")
        turns = rng.choices((1, 2, 3, 4, 5, 6), weights=(20, 25, 22, 15, 10, 8))[0]
        for turn in range(turns):
            at += timedelta(seconds=rng.randint(4, 90) if turn == 0 else rng.randint(20, 300))
            self.message(at, m.MessageRole.USER, _fill(rng.choice(self.topic.asks), rng))
            calls = rng.choices((0, 1, 2, 3, 4, 5), weights=(14, 26, 24, 16, 11, 9))[0]
            for tool_round in range(calls):
                at = self.model_call(at, model, turn, tool_round)
                at = self.tool_call(at)
            at = self.model_call(at, model, turn, calls)
            self.message(at, m.MessageRole.ASSISTANT, rng.choice(ANSWERS), model=model.name)
        self.activity.conversations.append(
            m.AgentConversation(title=_fill(self.topic.title, rng), context=f"model {model.name}; {turns} turns",
                                user_sid=self.user.sid, created_at=start, updated_at=at)
        )


def _unless_unfinished(activity: Activity, marks: tuple[int, int, int], now: datetime) -> None:
    """Drop the last conversation again if it would end after `now`: it has not happened yet."""
    if activity.conversations[-1].updated_at <= now:
        return
    messages, audit, usage = marks
    del activity.messages[messages:], activity.audit[audit:], activity.usage[usage:]
    activity.conversations.pop()


def _memories(activity: Activity, rng: random.Random, user: User, first_day: datetime, now: datetime) -> None:
    own = [i for i, c in enumerate(activity.conversations) if c.user_sid == user.sid]
    by_category: dict[m.MemoryCategory, list[int]] = {}
    for i, entry in enumerate(MEMORY_POOL):
        by_category.setdefault(entry[1], []).append(i)
    # At least two of every category, then a random share of the rest; one memory per key.
    chosen = {i for ids in by_category.values() for i in rng.sample(ids, 2)}
    chosen |= {i for i in range(len(MEMORY_POOL)) if rng.random() < 0.45}
    span = max(60.0, (now - first_day).total_seconds())
    for i in sorted(chosen):
        key, category, values, tags = MEMORY_POOL[i]
        created = first_day + timedelta(seconds=rng.uniform(0, span * 0.9))
        updated = created + timedelta(seconds=rng.uniform(0, (now - created).total_seconds()))
        source_conv = rng.choice(own) if own and rng.random() < 0.6 else None
        source = None if source_conv is not None else rng.choice(("user", "memory_store", None))
        activity.memories.append(
            (source_conv, m.AgentMemory(
                user_sid=user.sid, category=category, key=key, value=rng.choice(values), source=source,
                confidence=round(min(1.0, rng.betavariate(6, 2)), 2),
                access_count=int(rng.expovariate(1 / 7)), tags=list(tags), created_at=created,
                updated_at=min(updated, now),
            ))
        )


def generate(days: int = 30, seed: int = 1, now: datetime | None = None) -> Activity:
    """Activity over the `days` UTC days ending today (today up to `now`)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    rng = random.Random(seed)
    activity = Activity()
    today = now.replace(hour=0, minute=0, second=0)
    first_day = today - timedelta(days=days - 1)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        weekend = 0.45 if day.weekday() >= 5 else 1.0
        growth = 0.7 + 0.6 * offset / max(1, days - 1)
        # Today is only as far along as the clock.
        hours = _HOURS if day < today else _HOURS[: now.hour + 1]
        for user in USERS:
            count = _poisson(rng, user.conversations_per_day * weekend * growth * sum(hours) / sum(_HOURS))
            for _ in range(count):
                hour = rng.choices(range(len(hours)), weights=hours)[0]
                start = day + timedelta(hours=hour, seconds=rng.randint(0, 3599))
                marks = (len(activity.messages), len(activity.audit), len(activity.usage))
                _Writer(activity, rng, user, rng.choice(TOPIC_LIST)).conversation(start)
                _unless_unfinished(activity, marks, now)
    for user in USERS:
        _memories(activity, rng, user, first_day, now)
    return activity


# -- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    conversations: int
    messages: int
    audit: int
    usage: int
    memories: int

    @property
    def total(self) -> int:
        return self.conversations + self.messages + self.audit + self.usage + self.memories


async def _store_all(client: AsyncAiClient, crud: AsyncCrud[M, Any], objects: Sequence[M],
                     gate: asyncio.Semaphore) -> list[M]:
    async def one_batch(chunk: Sequence[M]) -> list[M]:
        async with gate:
            batch = client.batch()
            pending = [crud.batch_new(batch, obj) for obj in chunk]
            await batch.send()
        return [p.result() for p in pending]  # raises the first call's error, if any

    chunks = [objects[i:i + BATCH] for i in range(0, len(objects), BATCH)]
    results = await asyncio.gather(*(one_batch(chunk) for chunk in chunks))
    return [obj for chunk in results for obj in chunk]


async def existing_records(client: AsyncAiClient) -> int:
    """How many of the five kinds of record the store already has (0 means empty)."""
    async def some(crud: AsyncCrud[Any, Any]) -> int:
        return len(await crud.list_full(limit=1))

    cruds: list[AsyncCrud[Any, Any]] = [client.agent_audit_entry, client.agent_usage_entry,
                                        client.agent_conversation, client.agent_message, client.agent_memory]
    return sum(await asyncio.gather(*(some(crud) for crud in cruds)))


async def write(client: AsyncAiClient, activity: Activity) -> Written:
    """Store `activity` through `client`: conversations first, then what refers to them."""
    gate = asyncio.Semaphore(PARALLEL_BATCHES)
    stored = await _store_all(client, client.agent_conversation, activity.conversations, gate)
    sids = [c.sid for c in stored]
    messages = [msg.model_copy(update={"conversation_sid": sids[i]}) for i, msg in activity.messages]
    memories = [mem if i is None else mem.model_copy(update={"source": sids[i]}) for i, mem in activity.memories]
    await asyncio.gather(
        _store_all(client, client.agent_message, messages, gate),
        _store_all(client, client.agent_audit_entry, activity.audit, gate),
        _store_all(client, client.agent_usage_entry, activity.usage, gate),
        _store_all(client, client.agent_memory, memories, gate),
    )
    return Written(len(stored), len(messages), len(activity.audit), len(activity.usage), len(memories))


class StoreNotEmpty(Exception):
    """Demo data goes into an empty store only, never among real records."""


def fill_store(url: str, days: int = 30, seed: int = 1) -> Written:
    """Generate activity and write it into the (empty) store at `url`."""
    from osis_ai.server import AiDispatcher

    from osis.ai.service import AiStoreService
    from osis.rpc.transport import AsyncInProcessTransport
    from osis.server import open_store

    activity = generate(days, seed)
    engine = open_store(url)

    async def fill() -> Written:
        client = AsyncAiClient(transport=AsyncInProcessTransport(AiDispatcher(AiStoreService(engine))))
        if await existing_records(client):
            raise StoreNotEmpty(
                "the store already holds agent records; demo data goes into an empty store only "
                "(delete the SQLite file or give another --store)"
            )
        return await write(client, activity)

    try:
        return asyncio.run(fill())
    finally:
        engine.close()
