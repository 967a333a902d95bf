"""The evaluation set for the speech-text emotion channel: sentences people say in videos.

168 English sentences, 24 per label, each with the emotion its speaker means and an espeak-ng
voice that fits it (anger fast and tense, sadness slow and low, fear fast and high, ...). Written
by hand for this benchmark, in situations a video library holds: vlogs, talks, interviews,
customer calls, sports commentary, unboxings, cooking and repair tutorials.

NEVER train or tune on these. The classifier learns from models/data/emotion_train.tsv, written
separately; this file is only read by bench/emotion_quality.py and by the guard test in
tests/test_emotion_text.py. Changing a sentence here because the classifier got it wrong would
make every figure measured on it meaningless.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.emotions import EMOTIONS  # noqa: E402


@dataclass(frozen=True)
class Spoken:
    text: str
    emotion: str
    voice: str  # espeak-ng voice, with a variant after '+'
    speed: int  # words per minute
    pitch: int  # 0-99


# How each intended emotion is voiced: (speeds, pitches) cycled through the sentences of a label.
_PROSODY = {
    "joy": ((180, 190, 175, 185), (70, 78, 66, 74)),
    "sadness": ((115, 125, 110, 120), (28, 32, 24, 35)),
    "anger": ((200, 210, 195, 205), (58, 62, 55, 66)),
    "fear": ((190, 200, 185, 195), (78, 84, 72, 88)),
    "surprise": ((175, 185, 170, 180), (82, 88, 76, 90)),
    "disgust": ((140, 135, 145, 150), (34, 30, 38, 26)),
    "neutral": ((160, 155, 165, 160), (50, 46, 54, 48)),
}
_VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+m2", "en-gb-x-rp+f2")

_SENTENCES = {
    "joy": [
        "We've been saving for this trip for three years and tomorrow we finally fly out.",
        "Guys, the results are in and our little channel won best travel vlog!",
        "My daughter called to say she got into medical school and I screamed with happiness.",
        "It was honestly one of the nicest evenings I've had in a long time.",
        "Thank you so much for fixing it so quickly, you've made my day.",
        "Look at how fluffy this bread turned out, I'm so pleased with it.",
        "The whole crowd was singing along and it felt absolutely magical.",
        "I finally paid off my student loan and I feel amazing.",
        "We just found out we're having twins and we couldn't be happier.",
        "What a goal, what a game, this is the best night of the season!",
        "My grandpa turned ninety today and he danced with every single one of us.",
        "I'm really chuffed with how the kitchen renovation came out.",
        "It's such a joy to teach a class that is this enthusiastic.",
        "The new puppy has settled in and she's already the love of our lives.",
        "Honestly, this is the most fun I've had at work in years.",
        "I'm delighted to welcome our guest today, it's an honour to have her.",
        "We got the keys to the studio and the whole band is celebrating.",
        "The kids built a snowman and laughed all afternoon.",
        "I ran my first half marathon and I'm so proud of myself.",
        "Your parcel arrived, and my son hasn't stopped smiling since he opened it.",
        "This is such a lovely surprise, thank you, I'm really touched.",
        "After months of work the app is live, and the reviews are wonderful.",
        "Sunny skies, good friends, and a cold drink, I couldn't ask for more.",
        "I'm thrilled with the feedback from the workshop, people loved it.",
    ],
    "sadness": [
        "I keep setting two plates at dinner out of habit, even though she's gone.",
        "This is the last video I'll film in this house before we sell it.",
        "The vet said there was nothing more they could do for him.",
        "I practised for months and still didn't make the team.",
        "Most days I just feel tired and empty, and I don't know how to fix it.",
        "My dad would have loved to see this, I really wish he were here.",
        "The little bookshop on our street closed down today after forty years.",
        "We lost the final, and the dressing room was completely silent.",
        "I'm sorry, it's just hard to talk about my brother.",
        "Nobody turned up to the opening, not a single person.",
        "I've felt really lonely since I moved here for work.",
        "The orchard my grandmother planted was cut down to build a car park.",
        "I'm afraid I have some sad news to share with you all today.",
        "I feel like I've let my whole family down.",
        "It's been a really rough year and I've cried more than I'd like to admit.",
        "We had to cancel the wedding, and I'm heartbroken.",
        "Watching her pack her bags for university made me tear up.",
        "The photos are all that's left of the old farm now.",
        "I really miss the friends I had back home.",
        "My application was turned down again and I'm losing hope.",
        "He passed away quietly in the night, surrounded by his family.",
        "It's strange and sad to walk past our old school and see it boarded up.",
        "I just feel so low today, I'm sorry.",
        "We tried everything to save the business, but it wasn't enough.",
    ],
    "anger": [
        "I've explained this problem to five different agents and nobody has done anything!",
        "Don't you dare hang up on me again!",
        "They towed my car from my own driveway, I'm absolutely furious.",
        "This is the worst referee decision I have ever seen, it's a disgrace!",
        "You charged my card three times for one order, fix it now.",
        "I'm fed up with the builders making noise at six in the morning.",
        "Stop blaming me for your mistakes!",
        "How is it possible that the train is cancelled again, this is ridiculous!",
        "He took credit for my work in front of the whole team and I'm livid.",
        "I want a full refund and an apology, today.",
        "Get your dog off my lawn right now!",
        "I'm so angry that they cut the funding for the youth club.",
        "You've ignored every email I sent, that is completely unacceptable.",
        "Why does this stupid laptop keep restarting in the middle of my work!",
        "I've had enough of your excuses, this ends now.",
        "That company lied to its customers and I'm outraged.",
        "Who keeps stealing my lunch from the fridge? I'm sick of it!",
        "The landlord kept our deposit for no reason and I'm fuming.",
        "Don't talk over me when I'm speaking!",
        "They promised delivery on Monday and it's Friday, this is a joke.",
        "I'm furious that the council approved the tower without asking anyone.",
        "You scratched my car and you didn't even leave a note!",
        "Honestly, the arrogance of that man makes my blood boil.",
        "Stop wasting my time and put me through to someone who can help!",
    ],
    "fear": [
        "There's someone trying the handle of the back door, call the police.",
        "I'm really nervous, my hands won't stop shaking before this speech.",
        "The wind is so strong the whole tent is about to blow away!",
        "I'm terrified the scan will show the tumour has grown.",
        "My little boy wandered off at the fair and I can't find him anywhere.",
        "I'm scared to go back into that house after what happened.",
        "The brakes aren't working, hold on!",
        "What if the company goes under and we lose everything?",
        "I heard a growl in the dark just behind the cabin.",
        "I'm so anxious about the exam results that I can't sleep.",
        "The water is coming under the door, we need to get upstairs now!",
        "I'm frightened every time I have to drive on the motorway.",
        "Something just moved under the bed, I swear.",
        "I'm worried sick, she hasn't answered her phone since last night.",
        "The plane is shaking really badly, I think something is wrong.",
        "I'm afraid of what they'll do if I report them.",
        "Please stay with me, I'm too scared to be alone tonight.",
        "The ice is creaking, don't take another step!",
        "I've got a horrible feeling that someone has been inside my flat.",
        "My heart is racing and I feel like I'm going to faint.",
        "I'm dreading the call from the hospital.",
        "The fire alarm is going off and there's smoke in the stairwell!",
        "I get panicky in small spaces, and this tunnel is really narrow.",
        "I'm scared the landslide will reach the village before morning.",
    ],
    "surprise": [
        "Wait, you're telling me you made this whole dress in one night?",
        "Oh wow, I had no idea this old camera still works!",
        "No way, that's my childhood best friend on the television!",
        "I did not expect the ending at all, what a twist.",
        "Hold on, the shop is giving these away for free?",
        "Whoa, the lake has completely dried up since last summer!",
        "Are you serious? He's only twelve and he plays like that?",
        "I opened the attic and found a box of letters from nineteen forty.",
        "You're kidding, the meeting was cancelled and nobody told us?",
        "Oh! I didn't hear you come in.",
        "I can't believe it, the tiny plant grew a flower overnight.",
        "Wow, I never knew you could speak Japanese!",
        "Wait, what? The score just flipped in the last ten seconds!",
        "It turns out the quiet guy in accounts used to be a rock star.",
        "Huh, the password worked on the first try, I'm amazed.",
        "Really? They sold the whole building in a single afternoon?",
        "Goodness, look at the size of that pumpkin!",
        "I was so shocked when they called my name as the winner.",
        "Hang on, is that a deer standing in the middle of the car park?",
        "No way, the two of you went to the same school?",
        "What on earth just happened to the screen?",
        "I'm stunned, I was sure the old printer was dead.",
        "Seriously, all of this fits inside that little box?",
        "Wow, it actually snowed in the desert last night!",
    ],
    "disgust": [
        "Ugh, somebody left rotting fish in the office microwave.",
        "The hostel bathroom had mould all over the shower, it was revolting.",
        "Ew, there's a dead fly in my salad.",
        "The way they treated those animals is sickening.",
        "I opened the fridge and the smell made me gag.",
        "Gross, the seat on the bus is sticky with something.",
        "That drink tastes like rotten fruit and petrol, yuck.",
        "The sink was clogged with hair and old food, it was nasty.",
        "I'm disgusted that they cover up abuse to protect their reputation.",
        "He chews with his mouth open and it really turns my stomach.",
        "The alley behind the restaurant stinks of garbage and urine.",
        "Yuck, the milk is lumpy and sour.",
        "The carpet in that hotel was stained and crawling with bugs.",
        "It's vile how he talks about people behind their backs.",
        "That burger was so greasy it made me feel sick.",
        "Ugh, I just found a slug in my shoe.",
        "The tap water smells like sewage, I'm not drinking that.",
        "The kitchen bins were overflowing with maggots.",
        "Someone sneezed all over the buffet, that's disgusting.",
        "His jokes about the victims were repulsive.",
        "The festival toilets on the last day were beyond foul.",
        "There's green fuzz growing on the bread, gross.",
        "The smell from the factory makes everyone in town feel nauseous.",
        "Eww, the dog rolled in something dead again.",
    ],
    "neutral": [
        "The meeting is at three o'clock in room B.",
        "In this video we're going to replace the filter in a kitchen tap.",
        "Can I have your order reference, please?",
        "The museum is open from ten until five, Tuesday to Sunday.",
        "Next, fold the egg whites gently into the mixture.",
        "Our guest today works as a marine biologist in Plymouth.",
        "The report is due at the end of the month.",
        "I'll transfer you to the technical support team now.",
        "The new phone has two cameras and a larger battery.",
        "Today's talk covers the basics of home insulation.",
        "Please remember to bring your ID on the day of the exam.",
        "The bridge was completed in eighteen eighty nine.",
        "Let's look at the second graph, which shows monthly rainfall.",
        "The bakery on the corner sells bread and pastries.",
        "You need to restart the router after changing the settings.",
        "The train from Leeds arrives at platform two.",
        "So what made you decide to study engineering?",
        "The survey asked people how often they feel stressed at work.",
        "Tighten the bolts in a cross pattern so the wheel sits evenly.",
        "We'll publish the minutes of the meeting on the website.",
        "The hotel is about ten minutes from the airport by taxi.",
        "I usually start my day with a coffee and check my emails.",
        "The recipe makes about twelve muffins.",
        "Your next payment will be taken on the fifth of June.",
    ],
}


def dataset() -> list[Spoken]:
    """Every sentence with its label and voice, in a fixed order."""
    items = []
    for emotion in EMOTIONS:
        speeds, pitches = _PROSODY[emotion]
        for i, text in enumerate(_SENTENCES[emotion]):
            items.append(Spoken(text, emotion, _VOICES[(i + EMOTIONS.index(emotion)) % len(_VOICES)],
                                speeds[i % len(speeds)], pitches[i % len(pitches)]))
    return items
