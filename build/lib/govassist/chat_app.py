"""The Chainlit app (`govassist run`, or `chainlit run app.py` through the root app.py): wires Chainlit's events to
govassist.chat_ui. It lives in the package so that `govassist run` finds it in a wheel install too."""

from pathlib import Path

import chainlit as cl

from govassist import chat_ui

chat_ui.configure(Path.cwd())
cl.on_app_startup(chat_ui.warm)
cl.set_starters(chat_ui.starters)
cl.on_chat_start(chat_ui.start)
cl.on_message(chat_ui.message)
cl.on_settings_update(chat_ui.settings_update)
cl.on_settings_edit(chat_ui.settings_edit)
cl.action_callback("briefing")(chat_ui.briefing)
cl.action_callback("ask_new")(chat_ui.ask_new)
cl.action_callback("clear_filters")(chat_ui.clear_filters)
cl.data_layer(chat_ui.data_layer)
if chat_ui.S.auth_enabled:
    cl.password_auth_callback(chat_ui.login)
