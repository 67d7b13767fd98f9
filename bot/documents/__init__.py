"""Reading policy documents as people publish them.

``readers``  a file (.txt in any common Chinese encoding, .html, .docx, text PDF) → clean text lines
``radicals`` Kangxi / radical-supplement characters from PDFs → the ideographs they stand for
``outline``  the numbering every Chinese government document uses → items, units, deadlines, metadata
``review``   ``python -m bot add``: a new document checked, reported on, and only then put live

Data flows one way (seeds → ingest → db): nothing here touches the database.
"""
