"""Files the bot makes: the monthly notice's chart (PNG) and workbook (XLSX),
the work contact letter (DOCX and PDF). Each builder takes the figures or
facts from ``bot.core`` and returns bytes; nothing here talks to Slack or the
database. The Chinese text renders with a font that comes from a Python
package (``fonts.cjk_font_path``), never one that happens to be installed."""
