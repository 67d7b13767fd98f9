"""Rasa NLU components of 政策助手 (the Chinese normaliser, the intent classifier) and the
generated jieba dictionary; config.yml names them by these paths, so moving them means
retraining. How Rasa is run (launcher, graph runner, tracker store) is bot/runtime/."""
