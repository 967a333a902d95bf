"""The emotion label set every signal and every API speaks: the six basic emotions plus neutral, in this order."""

EMOTIONS = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral")
