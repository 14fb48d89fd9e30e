from django import forms


class DateInput(forms.DateInput):
    # The browser's own date picker: keyboard-usable and right on a phone.
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class FilteredCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes for a long list (some 250 countries) that keep the choice in sight:
    the ticked ones are listed above the list, and a box filters the list as one types.

    Without JavaScript it is the list of checkboxes, with what was chosen when the page
    was made listed above it. The script (a file of this site, no inline code, as the
    CSP requires) shows the filter box, filters and keeps the list of chosen ones up to
    date. It works on the site's pages and in the admin alike.
    """

    template_name = "common/widgets/filtered_checkboxes.html"

    class Media:
        js = ["js/filtered-checkboxes.js"]
        css = {"all": ["css/filtered-checkboxes.css"]}

    def __init__(self, attrs=None, choices=(), *, items="countries", none_chosen="none"):
        super().__init__(attrs, choices)
        self.items = items
        self.none_chosen = none_chosen

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            items=self.items,
            none_chosen=self.none_chosen,
            chosen=[
                option["label"]
                for _, options, _ in context["widget"]["optgroups"]
                for option in options
                if option["selected"]
            ],
        )
        return context
