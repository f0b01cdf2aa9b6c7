"""The tutor: quiz questions, graded answers, Socratic hints and progress, for the AI-fundamentals modules.

It knows nothing of HTTP: the API (``bot/web/routes/tutor.py``), the quiz page and the chat all call this service.
Coaching never gives the answer straight away: a wrong or partial answer gets the first hint, then the second,
then the explanation with the course section it comes from, unless the learner asks for the answer.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from bot.safety.privacy import redact
from bot.tutor.grading import Grade, Grader
from bot.tutor.intent import quiz_topic, wants_answer, wants_hint, wants_next, wants_stop
from bot.tutor.progress import SCORE_CORRECT, SCORE_EXPLAINED_PARTIAL, ProgressStore, Result, TutorState
from bot.tutor.quizzes import Module, QuizBank, QuizQuestion, SectionCitation

SURPRISE = "surprise"
# A module whose average is below this, after at least two questions, is recommended for review.
WEAK_AVERAGE = 0.5

TEXTS = {
    "fr": {
        "question": "**{title}** — question {n}/{total}\n\n{question}",
        "how": "_Répondez avec vos mots, en français ou en anglais. Vous pouvez demander un indice ou la réponse._",
        "start_chat": "C'est parti pour un quiz sur « {title} » ! Dites « stop » pour revenir à vos questions.",
        "correct": "✅ Bonne réponse !",
        "partial": "🟡 C'est en partie juste.",
        "wrong": "❌ Ce n'est pas encore ça.",
        "dont_know": "Pas de souci, cherchons ensemble.",
        "empty": "Je n'ai pas reçu de réponse.",
        "found": "Vous avez bien exprimé : {ideas}.",
        "missing_count": "Il manque encore {n} idée(s) clé(s).",
        "hint": "💡 Indice {n} : {hint}",
        "no_more_hints": "Vous avez déjà eu les deux indices : essayez encore, ou demandez la réponse.",
        "explanation": "📘 Voici l'explication :",
        "missed": "Les idées qui manquaient : {ideas}.",
        "reference": "Réponse de référence :",
        "source": "Source : {title} › {section} ({source_id})",
        "score_correct": "📊 Score : {score:.0%}, bonne réponse {hints} (barème : {scale}).",
        "score_scale": "{0:.0%} sans indice, {1:.0%} après un indice, {2:.0%} après deux",
        "hints_0": "sans indice",
        "hints_1": "après un indice",
        "hints_2": "après deux indices",
        "score_partial": "📊 Score : {score:.0%}, réponse affichée après une réponse en partie juste.",
        "score_none": "📊 Score : {score:.0%}, réponse affichée avant une réponse juste.",
        "next_chat": "Dites « suivante » pour une autre question, ou posez-moi une question.",
        "stopped": "Quiz terminé. Je reste à votre disposition pour vos questions !",
        "unknown_topic": "Je n'ai pas de quiz sur « {topic} ». Je peux vous interroger sur :\n{titles}",
        "start": "Commencez par « {title} », le premier module du parcours.",
        "next": "Continuez avec « {title} » : il vous reste des questions à découvrir.",
        "review": "Révisez « {title} » : votre moyenne y est de {average:.0%}.",
        "done": "Vous avez vu toutes les questions ! Revoyez « {title} », votre module le moins réussi "
        "({average:.0%}).",
    },
    "en": {
        "question": "**{title}** — question {n}/{total}\n\n{question}",
        "how": "_Answer in your own words, in English or French. You may ask for a hint or for the answer._",
        "start_chat": "Let's start a quiz on “{title}”! Say “stop” to go back to your questions.",
        "correct": "✅ Correct!",
        "partial": "🟡 Partly right.",
        "wrong": "❌ Not quite yet.",
        "dont_know": "No problem, let's work it out together.",
        "empty": "I didn't get an answer.",
        "found": "You got: {ideas}.",
        "missing_count": "{n} key idea(s) still missing.",
        "hint": "💡 Hint {n}: {hint}",
        "no_more_hints": "You have had both hints: try again, or ask for the answer.",
        "explanation": "📘 Here is the explanation:",
        "missed": "The ideas you missed: {ideas}.",
        "reference": "Reference answer:",
        "source": "Source: {title} › {section} ({source_id})",
        "score_correct": "📊 Score: {score:.0%}, a right answer {hints} (scale: {scale}).",
        "score_scale": "{0:.0%} with no hint, {1:.0%} after one hint, {2:.0%} after two",
        "hints_0": "with no hint",
        "hints_1": "after one hint",
        "hints_2": "after two hints",
        "score_partial": "📊 Score: {score:.0%}, the answer was shown after a partly right answer.",
        "score_none": "📊 Score: {score:.0%}, the answer was shown before a right answer.",
        "next_chat": "Say “next” for another question, or ask me anything.",
        "stopped": "Quiz over. Ask me anything whenever you like!",
        "unknown_topic": "I have no quiz on “{topic}”. I can quiz you on:\n{titles}",
        "start": "Start with “{title}”, the first module of the course.",
        "next": "Go on with “{title}”: there are questions you haven't seen yet.",
        "review": "Review “{title}”: your average there is {average:.0%}.",
        "done": "You have seen every question! Review “{title}”, your weakest module ({average:.0%}).",
    },
}


class TutorError(ValueError):
    """A request the tutor cannot serve (unknown module or question); the message says why."""


@dataclass
class TutorTurn:
    """One step of a quiz, with the text to show (``message``, Markdown) and its parts for other faces."""

    learner_id: str
    lang: str
    message: str
    module: str
    module_title: str
    question_id: str
    question: str
    verdict: str | None = None  # correct | partial | wrong, when an answer was graded
    found: list[str] = field(default_factory=list)
    missing_count: int = 0
    missing: list[str] = field(default_factory=list)  # shown once the question is finished
    hint: str | None = None
    hints_used: int = 0
    finished: bool = False
    score: float | None = None
    explanation: str | None = None
    citation: SectionCitation | None = None


@dataclass(frozen=True)
class ModuleProgress:
    module: str
    title: str
    total: int
    seen: int
    correct: int
    average: float | None
    streak: int


@dataclass(frozen=True)
class Recommendation:
    module: str
    title: str
    kind: str  # start | next | review
    message: str


@dataclass(frozen=True)
class ProgressReport:
    learner_id: str
    modules: list[ModuleProgress]
    answered: int
    average: float | None
    streak: int
    best_streak: int
    recommendation: Recommendation | None  # None only when the knowledge base has no quizzes


def _streaks(results: list[Result]) -> tuple[int, int]:
    """Current and best run of questions answered right (with or without hints)."""
    current = best = 0
    for result in results:
        current = current + 1 if result.outcome == "correct" else 0
        best = max(best, current)
    return current, best


def _score_line(texts: dict[str, str], outcome: str, score: float, state: TutorState) -> str:
    """How a finished question's score was made: a right answer after two hints is worth 40 %, and a learner
    who sees only "correct" and 40 % cannot tell why."""
    if outcome == "correct":
        scale = texts["score_scale"].format(*SCORE_CORRECT)
        hints = texts[f"hints_{min(state.hints, len(SCORE_CORRECT) - 1)}"]
        return texts["score_correct"].format(score=score, hints=hints, scale=scale)
    return texts["score_partial" if score else "score_none"].format(score=score)


class TutorService:
    def __init__(self, bank: QuizBank, grader: Grader, progress: ProgressStore, seed: int | None = None) -> None:
        self.bank = bank
        self.grader = grader
        self.progress = progress
        self._random = random.Random(seed)
        self._titles: tuple[list[str], np.ndarray] | None = None

    # Questions -------------------------------------------------------------------------------------------

    def ask(self, learner_id: str, module_id: str | None, lang: str, channel: str = "quiz") -> TutorTurn:
        """A new question: from ``module_id``, from a random module (``"surprise"``), or (``None``) from the
        module the learner is recommended. A question left unfinished is simply replaced."""
        if not self.bank.modules:
            raise TutorError("there are no quizzes in the knowledge base")
        results = self.progress.results(learner_id)
        if module_id == SURPRISE:
            module = self._surprise(results, lang)
        elif module_id:
            if module_id not in self.bank.modules:
                raise TutorError(f"no quiz module '{module_id}'; known: {', '.join(self.bank.modules)}")
            module = self.bank.modules[module_id]
        else:
            recommended = self.recommend(learner_id, lang, results)
            assert recommended is not None  # None only for an empty bank, refused above
            module = self.bank.modules[recommended.module]
        question = self._pick(module, lang, results)
        self.progress.save(TutorState(learner_id, lang, channel, question.id, module.id))
        return self._question_turn(learner_id, lang, module, question)

    def _question_turn(self, learner_id: str, lang: str, module: Module, question: QuizQuestion) -> TutorTurn:
        texts = TEXTS[lang]
        n = module.questions.index(question) + 1
        message = (
            texts["question"].format(
                title=module.title(lang), n=n, total=len(module.questions), question=question.question
            )
            + "\n\n"
            + texts["how"]
        )
        return TutorTurn(learner_id, lang, message, module.id, module.title(lang), question.id, question.question)

    def _pool(self, module: Module, lang: str) -> list[QuizQuestion]:
        return [q for q in module.questions if q.lang == lang] or list(module.questions)

    def _pick(self, module: Module, lang: str, results: list[Result]) -> QuizQuestion:
        """Unseen questions first, in the module's order; then a review of the least successful one."""
        pool = self._pool(module, lang)
        latest = {r.question_id: (r.score, position) for position, r in enumerate(results)}
        unseen = [q for q in pool if q.id not in latest]
        if unseen:
            return unseen[0]
        last = results[-1].question_id if results else None
        candidates = [q for q in pool if q.id != last] or pool
        return min(candidates, key=lambda q: latest[q.id])

    def _surprise(self, results: list[Result], lang: str) -> Module:
        seen = {r.question_id for r in results}
        fresh = [m for m in self.bank.modules.values() if any(q.id not in seen for q in self._pool(m, lang))]
        return self._random.choice(fresh or list(self.bank.modules.values()))

    # Answers ---------------------------------------------------------------------------------------------

    def _current(
        self, learner_id: str, question_id: str | None, lang: str | None = None
    ) -> tuple[TutorState, Module, QuizQuestion]:
        """The question in progress. ``lang``, when given, is the language the learner now reads the
        interface in (the quiz page's switch): the feedback follows it, whatever language the question was
        asked in."""
        state = self.progress.state(learner_id)
        if state is None or state.question_id is None:
            raise TutorError("there is no question in progress for this learner: ask for a new question")
        if question_id and question_id != state.question_id:
            raise TutorError(f"question '{question_id}' is not the one in progress ('{state.question_id}')")
        state.lang = lang or state.lang
        module, question = self.bank.question(state.question_id)
        return state, module, question

    def current(self, learner_id: str, lang: str) -> TutorTurn | None:
        """The question in progress framed in ``lang`` (a page reloaded, or its language switched), or None."""
        state = self.progress.state(learner_id)
        return self.show(learner_id, state.question_id, lang) if state and state.question_id else None

    def show(self, learner_id: str, question_id: str, lang: str) -> TutorTurn:
        """A question as it is asked, framed in ``lang`` (the question's own text stays in its language)."""
        try:
            module, question = self.bank.question(question_id)
        except KeyError as exc:
            raise TutorError(str(exc)) from None
        return self._question_turn(learner_id, lang, module, question)

    def answer(self, learner_id: str, text: str, question_id: str | None = None, lang: str | None = None) -> TutorTurn:
        """Grade an answer to the question in progress; coach with a hint, or finish it. The answer is
        redacted first: the quiz tab and ``/api/tutor/answer`` reach the tutor without the chat's pipeline."""
        text = redact(text)
        state, module, question = self._current(learner_id, question_id, lang)
        grade = self.grader.grade(question, text)
        texts = TEXTS[state.lang]
        turn = self._question_turn(learner_id, state.lang, module, question)
        turn.verdict, turn.found = grade.verdict, [question.key_ideas[i] for i in grade.found]
        turn.missing_count = len(grade.missing)
        opening = texts[
            "dont_know" if grade.reason == "dont_know" else "empty" if grade.reason == "empty" else grade.verdict
        ]
        lines = [opening]
        if grade.found and grade.verdict != "correct":
            lines.append(texts["found"].format(ideas=" ; ".join(turn.found)))
        if grade.verdict == "correct":
            score = SCORE_CORRECT[min(state.hints, len(SCORE_CORRECT) - 1)]
            return self._finish(state, module, question, turn, "correct", score, grade, lines)
        if grade.verdict == "partial":
            state.best = "partial"
            lines.append(texts["missing_count"].format(n=len(grade.missing)))
        if state.hints >= len(question.hints):
            score = SCORE_EXPLAINED_PARTIAL if state.best == "partial" else 0.0
            return self._finish(state, module, question, turn, "explained", score, grade, lines)
        return self._give_hint(state, question, turn, lines)

    def hint(self, learner_id: str, question_id: str | None = None, lang: str | None = None) -> TutorTurn:
        """The next hint, asked for before answering."""
        state, module, question = self._current(learner_id, question_id, lang)
        turn = self._question_turn(learner_id, state.lang, module, question)
        if state.hints >= len(question.hints):
            turn.message = TEXTS[state.lang]["no_more_hints"]
            turn.hints_used = state.hints
            return turn
        return self._give_hint(state, question, turn, [])

    def _give_hint(self, state: TutorState, question: QuizQuestion, turn: TutorTurn, lines: list[str]) -> TutorTurn:
        turn.hint = question.hints[state.hints]
        state.hints += 1
        turn.hints_used = state.hints
        self.progress.save(state)
        turn.message = "\n\n".join([*lines, TEXTS[state.lang]["hint"].format(n=state.hints, hint=turn.hint)])
        return turn

    def reveal(self, learner_id: str, question_id: str | None = None, lang: str | None = None) -> TutorTurn:
        """The explanation, when the learner asks for it."""
        state, module, question = self._current(learner_id, question_id, lang)
        turn = self._question_turn(learner_id, state.lang, module, question)
        score = SCORE_EXPLAINED_PARTIAL if state.best == "partial" else 0.0
        return self._finish(state, module, question, turn, "explained", score, None, [])

    def _finish(
        self,
        state: TutorState,
        module: Module,
        question: QuizQuestion,
        turn: TutorTurn,
        outcome: str,
        score: float,
        grade: Grade | None,
        lines: list[str],
    ) -> TutorTurn:
        texts = TEXTS[state.lang]
        missing = grade.missing if grade else range(len(question.key_ideas))
        turn.missing = [question.key_ideas[i] for i in missing]
        turn.hints_used, turn.finished, turn.score = state.hints, True, score
        turn.explanation = question.reference_answer
        turn.citation = self.bank.citation(module, question)
        if outcome == "explained":
            lines.append(texts["explanation"])
        elif turn.missing:
            lines.append(texts["missed"].format(ideas=" ; ".join(turn.missing)))
        lines += [
            f"{texts['reference']} {question.reference_answer}" if outcome == "correct" else question.reference_answer,
            texts["source"].format(
                title=turn.citation.title, section=turn.citation.section, source_id=turn.citation.source_id
            ),
            _score_line(texts, outcome, score, state),
        ]
        if state.channel == "chat":
            lines.append(texts["next_chat"])
        self.progress.record(state, outcome, score)
        turn.message = "\n\n".join(lines)
        return turn

    # Progress --------------------------------------------------------------------------------------------

    def report(self, learner_id: str, lang: str) -> ProgressReport:
        results = self.progress.results(learner_id)
        by_module: dict[str, list[Result]] = defaultdict(list)
        for result in results:
            by_module[result.module].append(result)
        modules = []
        for module in self.bank.modules.values():
            done = by_module.get(module.id, [])
            latest = {r.question_id: r for r in done}
            modules.append(
                ModuleProgress(
                    module.id,
                    module.title(lang),
                    len(module.questions),
                    len(latest),
                    sum(r.outcome == "correct" for r in latest.values()),
                    sum(r.score for r in latest.values()) / len(latest) if latest else None,
                    _streaks(done)[0],
                )
            )
        latest_all = {r.question_id: r for r in results}
        streak, best = _streaks(results)
        return ProgressReport(
            learner_id,
            modules,
            len(results),
            sum(r.score for r in latest_all.values()) / len(latest_all) if latest_all else None,
            streak,
            best,
            self.recommend(learner_id, lang, results, modules),
        )

    def recommend(
        self,
        learner_id: str,
        lang: str,
        results: list[Result] | None = None,
        modules: list[ModuleProgress] | None = None,
    ) -> Recommendation | None:
        """Review a weak module first; else the module the learner is working on while it has unseen
        questions, then the modules after it in course order (a learner who chose machine learning is not sent
        back to the first module); else the weakest module."""
        if not self.bank.modules:
            return None
        results = self.progress.results(learner_id) if results is None else results
        working_on = self._working_on(learner_id, results)
        if modules is None:
            return self.report(learner_id, lang).recommendation if working_on else self._recommend_start(lang)
        texts = TEXTS[lang]
        weak = [m for m in modules if m.seen >= 2 and m.average is not None and m.average < WEAK_AVERAGE]
        if weak:
            worst = min(weak, key=lambda m: m.average or 0.0)  # never None here: filtered just above
            return Recommendation(
                worst.module, worst.title, "review", texts["review"].format(title=worst.title, average=worst.average)
            )
        seen = {r.question_id for r in results}
        order = list(self.bank.modules.values())
        start = next((i for i, m in enumerate(order) if m.id == working_on), 0)
        for module in order[start:] + order[:start]:
            if any(q.id not in seen for q in self._pool(module, lang)):
                kind = "next" if working_on else "start"
                title = module.title(lang)
                return Recommendation(module.id, title, kind, texts[kind].format(title=title))
        worst = min(modules, key=lambda m: m.average if m.average is not None else 1.0)
        return Recommendation(
            worst.module, worst.title, "review", texts["done"].format(title=worst.title, average=worst.average or 0.0)
        )

    def _working_on(self, learner_id: str, results: list[Result]) -> str | None:
        """The module of the question asked last (in progress or not), else of the last finished one."""
        state = self.progress.state(learner_id)
        module = state.module if state and state.module else results[-1].module if results else None
        return module if module in self.bank.modules else None

    def _recommend_start(self, lang: str) -> Recommendation:
        first = next(iter(self.bank.modules.values()))
        title = first.title(lang)
        return Recommendation(first.id, title, "start", TEXTS[lang]["start"].format(title=title))

    # The chat's hand-over --------------------------------------------------------------------------------

    def find_module(self, topic: str) -> Module | None:
        """The module a requested topic names ("le deep learning", "GDPR"), by meaning, or None."""
        if not topic.strip():
            return None
        if self._titles is None:
            labels, owners = [], []
            for module in self.bank.modules.values():
                for label in {*module.titles.values(), module.id.rsplit("/", 1)[1].replace("-", " ")}:
                    labels.append(label)
                    owners.append(module.id)
            self._titles = (owners, self.grader.embeddings.embed_for_similarity(labels))
        owners, vectors = self._titles
        scores = vectors @ self.grader.embeddings.embed_for_similarity([topic])[0]
        best = int(np.argmax(scores))
        return self.bank.modules[owners[best]] if scores[best] >= self.grader.thresholds.topic else None

    def converse(self, learner_id: str, message: str, lang: str) -> TutorTurn | str | None:
        """The tutor's part of a chat turn: a quiz turn, a closing text, or None when the chat should answer.

        A quiz starts when the learner asks for one; while a question started in the chat is open, messages
        are answers (or requests for a hint, the answer, or to stop). A question-like message that is off the
        subject hands back to the chat."""
        topic = quiz_topic(message) if self.bank.modules else None
        if topic is not None:
            module = self.find_module(topic)
            if topic and module is None:
                titles = "\n".join(f"- {m.title(lang)}" for m in self.bank.modules.values())
                return TEXTS[lang]["unknown_topic"].format(topic=topic, titles=titles)
            turn = self.ask(learner_id, module.id if module else None, lang, channel="chat")
            turn.message = TEXTS[lang]["start_chat"].format(title=turn.module_title) + "\n\n" + turn.message
            return turn
        state = self.progress.state(learner_id)
        if state is None or state.channel != "chat" or not (state.question_id or state.module):
            return None
        if wants_stop(message):
            state.question_id = state.module = None
            self.progress.save(state)
            return TEXTS[state.lang]["stopped"]
        if state.question_id is None:
            if wants_next(message):
                return self.ask(learner_id, state.module, state.lang, channel="chat")
            state.module = None
            self.progress.save(state)
            return None
        if wants_answer(message):
            return self.reveal(learner_id)
        if wants_hint(message):
            return self.hint(learner_id)
        _, question = self.bank.question(state.question_id)
        if message.rstrip().endswith("?") and self.grader.grade(question, message).reason == "off_topic":
            state.question_id = state.module = None
            self.progress.save(state)
            return None
        return self.answer(learner_id, message)
