"""Knowledge search: the passages answering a question, best first, each with its citation.

`knowledge_search` is the singleton; it takes `(session, actor, *, ...)` and never commits.
`actor` None means the system itself (CLI, jobs, seed).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.common import require
from knowledge.embeddings import (
    Embedder,
    EmbeddingUnavailable,
    Vectors,
    embedder_for_model,
)
from knowledge.language import Language, detect_language
from knowledge.repository import KnowledgeRepository
from knowledge.retrieval import Filters, RetrievedChunk, SearchMode, search_chunks
from knowledge.schemas import (
    CitedPassage,
    SearchResult,
)
from lending.config import Settings, get_settings
from lending.errors import InvalidInput
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.logs import get_logger

log = get_logger(__name__)


def _citation(title: str, heading_path: list[str], version: int) -> str:
    headings = [h for h in heading_path if h and h != title]
    return " › ".join([title, *headings]) + f" (v{version})"


class KnowledgeSearchService:
    async def search(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        query: str,
        k: int = 5,
        language: Language | None = None,
        category: str | None = None,
        lender: str | None = None,
        product: str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        mode: SearchMode = "hybrid",
    ) -> SearchResult:
        """Passages answering `query`, best first, each with its citation.

        Args:
            query: a question or keywords, at most `knowledge_max_query_chars` characters.
            k: 1 to 50 passages.
            language: only entries in this language; without it, entries in the query's own
                language come first.
            category, lender, product: only entries with this value.
            settings: defaults to the process settings.
            embedder: embeds the query; defaults to the active embedding set's model.
            mode: "hybrid", or "vector"/"text" alone (benchmarks).

        Raises:
            PermissionDenied: the actor lacks knowledge:read.
            InvalidInput: empty or over-long query, k out of range.
        """
        require(actor, Scope.KNOWLEDGE_READ)
        settings = settings or get_settings()
        query = query.strip()
        if not query:
            raise InvalidInput("The query is empty.")
        if len(query) > settings.knowledge_max_query_chars:
            raise InvalidInput(
                f"The query is {len(query):,} characters long; at most "
                f"{settings.knowledge_max_query_chars:,} are accepted. Ask a shorter question."
            )
        if not 1 <= k <= 50:
            raise InvalidInput("k must be between 1 and 50.")
        repository = KnowledgeRepository.from_session(session)
        query_language: Language = language or detect_language(query)
        active = await repository.active_model()
        if active is None:
            return SearchResult(
                query=query, query_language=query_language, embedding_model=None, passages=[]
            )
        query_vector: Vectors | None = None
        if mode != "text":
            embedder = embedder or embedder_for_model(active, settings)
            if embedder.model != active:
                raise InvalidInput(
                    f"The index holds vectors of '{active}', not of '{embedder.model}'."
                )
            try:
                query_vector = await embedder.embed_query(query)
            except EmbeddingUnavailable as exc:
                if mode == "vector":
                    raise
                # Full-text search alone still answers while the embedding endpoint is down.
                log.warning("knowledge search without vectors", reason=str(exc.detail))
        rows = await search_chunks(
            session,
            query=query,
            query_vector=query_vector,
            k=k,
            filters=Filters(language=language, category=category, lender=lender, product=product),
            mode=mode,
            prefer_language=None if language else query_language,
            candidates=settings.knowledge_search_candidates,
            ef_search=settings.knowledge_hnsw_ef_search,
            common_term_docs=settings.knowledge_text_common_term_docs,
            rank_cap=settings.knowledge_text_rank_cap,
        )
        return SearchResult(
            query=query,
            query_language=query_language,
            embedding_model=active,
            passages=[self._cited(row) for row in rows],
        )

    @staticmethod
    def _cited(row: RetrievedChunk) -> CitedPassage:
        return CitedPassage(
            entry_id=row.entry_id,
            entry_key=row.entry_key,
            title=row.title,
            version=row.version,
            heading_path=row.heading_path,
            text=row.text,
            score=round(row.score, 6),
            language=row.language,
            category=row.category,
            lender=row.lender,
            product=row.product,
            citation=_citation(row.title, row.heading_path, row.version),
            chunk_id=row.chunk_id,
            vector_rank=row.vector_rank,
            text_rank=row.text_rank,
        )


knowledge_search_service = KnowledgeSearchService()
