"""Serviceform pages: spaces and their items (the generated item form), leads,
chats with their transcripts, and the chat statistics. Every page reads the
local database; Serviceform is called only by a write or a refresh (POST)."""
