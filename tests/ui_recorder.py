"""A stand-in for a UILayout in panel tests: records what a panel draws and checks that every
property it draws exists."""


class Recorder:
    """Records the properties, searches and operators a panel draws (in ``drawn``)."""

    def __init__(self, drawn, open_sections=()):
        self.drawn = drawn
        self.open_sections = set(open_sections)

    def panel(self, idname, default_closed=False):
        """``UILayout.panel``: ``(header, body)``, body None while the section is closed (closed
        by default unless named in ``open_sections``)."""
        self.drawn.append(f"section:{idname}")
        is_open = idname in self.open_sections or not default_closed
        return self, (self if is_open else None)

    def prop(self, data, name, **_kw):
        assert name in data.bl_rna.properties, f"panel draws unknown property {name!r}"
        self.drawn.append(name)

    def prop_search(self, data, name, search_data, search_name, **_kw):
        assert name in data.bl_rna.properties, f"panel searches into unknown property {name!r}"
        assert search_name in search_data.bl_rna.properties, f"panel searches unknown collection {search_name!r}"
        self.drawn.append(f"{name}@{search_name}")

    def operator(self, idname, **_kw):
        self.drawn.append(idname)
        return self

    def __getattr__(self, _name):
        return lambda *a, **k: self
