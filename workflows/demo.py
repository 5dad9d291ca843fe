"""Start data for demo cases of the bundled processes."""

DEMO_START_DATA = {}


def start_data(process_id):
    return dict(DEMO_START_DATA.get(process_id, {}))
