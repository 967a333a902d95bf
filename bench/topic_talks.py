"""Talks made of topics: a few sentences on one subject, then on another, as a speaker moves on.

Shared by bench/chapters_quality.py (where the chapters should start) and the temporal set of
bench/search_quality.py ("this, then that"). Sentences were written for this; each topic's share
some words across the topic but few with other topics, as in a real talk.
"""
from __future__ import annotations

import random

TOPICS = {
    "bread": [
        "Today I want to show you how I bake bread at home every weekend.",
        "You only need flour, water, salt and a little yeast.",
        "Knead the dough for about ten minutes until it feels smooth and springy.",
        "Then leave it covered somewhere warm so it can rise for an hour.",
        "Shape the loaf gently, without pressing all the air out of it.",
        "Bake it in a very hot oven until the crust turns a deep golden brown.",
        "Let the bread cool on a rack before you slice it, or the crumb gets gummy.",
    ],
    "garden": [
        "Now let's walk out to the vegetable garden behind the house.",
        "The tomatoes need watering every evening while the weather is this dry.",
        "I tie the tall plants to wooden stakes so the wind does not snap them.",
        "Slugs love the lettuce, so I put a ring of crushed eggshells around each one.",
        "Compost from the kitchen goes on the beds in autumn to feed the soil.",
        "The beans are ready when the pods snap cleanly in your fingers.",
        "Pick the courgettes while they are small, they taste much better.",
    ],
    "car": [
        "Next, a few things to check on your car before a long drive.",
        "Look at the tyre pressure when the tyres are cold, not after driving.",
        "Pull out the dipstick and make sure the oil sits between the two marks.",
        "Top up the windscreen washer fluid, you will use more than you think.",
        "Test every light, including the brake lights, with a friend watching.",
        "Check that the spare wheel is inflated and that the jack is in the boot.",
        "Finally, clean the windows inside as well, glare at night is dangerous.",
    ],
    "money": [
        "Let's talk about keeping your monthly budget under control.",
        "Write down every expense for a month to see where the money really goes.",
        "Set up a standing order so part of your salary goes into savings on payday.",
        "Cancel the subscriptions you have forgotten you are paying for.",
        "Pay off the credit card with the highest interest rate first.",
        "Keep an emergency fund that covers at least three months of rent.",
        "Compare energy and insurance prices every year instead of renewing blindly.",
    ],
    "space": [
        "Now for some news from space exploration this week.",
        "A new rocket launched a weather satellite into orbit on Tuesday morning.",
        "The booster landed back on a floating platform in the ocean.",
        "Astronauts on the space station spent six hours on a spacewalk.",
        "They replaced a broken solar panel on the outside of the station.",
        "A telescope photographed a distant galaxy whose light left it billions of years ago.",
        "The next mission to the moon is planned for the end of next year.",
    ],
    "cat": [
        "Let me introduce our cat, a grey tabby called Misty.",
        "She sleeps most of the day on the warm windowsill in the kitchen.",
        "Every evening she brings her toy mouse and drops it at my feet.",
        "She refuses dry food, so we feed her small tins of fish.",
        "The vet says she is healthy, but she should lose a little weight.",
        "When it rains she sits by the door and complains loudly.",
        "At night she curls up at the end of the bed and purrs.",
    ],
    "football": [
        "Moving on to last night's football match.",
        "The home team scored early with a header from a corner kick.",
        "The visitors equalised just before half time with a long shot.",
        "In the second half the goalkeeper made three brilliant saves.",
        "A defender was sent off after a second yellow card.",
        "With ten men they still held on for a draw.",
        "The manager said he was proud of the players' fighting spirit.",
    ],
    "hiking": [
        "Finally, some advice for a day of hiking in the hills.",
        "Check the mountain weather forecast the evening before you set off.",
        "Wear boots you have already broken in, new boots mean blisters.",
        "Pack a waterproof jacket even if the morning is sunny.",
        "Carry a paper map and a compass, phones lose signal in the valleys.",
        "Bring more water than you expect to drink, and some salty snacks.",
        "Tell someone your route and when you expect to be back.",
    ],
}


def talks(n: int, topics_per_talk: int = 4, sentences: tuple[int, int] = (3, 7), seed: int = 3) -> list[list[tuple[str, str]]]:
    """`n` talks, each a list of (topic, sentence) in order: `topics_per_talk` topics (no topic twice in
    one talk), the first 3 to 7 sentences of each (parts of unequal length, as in real talks, so that
    no fixed interval fits them)."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    out = []
    for _ in range(n):
        chosen = rng.sample(names, topics_per_talk)
        out.append([(topic, sentence) for topic in chosen for sentence in TOPICS[topic][:rng.randint(*sentences)]])
    return out
