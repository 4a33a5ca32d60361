import type { GroupRef } from '../api/types';

/** Picks any number of groups; one checkbox each, so every choice has its own label. */
export function GroupChecklist({
  legend,
  groups,
  selected,
  onChange,
  testId,
}: {
  legend: string;
  groups: GroupRef[];
  selected: string[];
  onChange: (groupIds: string[]) => void;
  testId?: string;
}) {
  const toggle = (groupId: string, checked: boolean) => onChange(checked ? [...selected, groupId] : selected.filter((id) => id !== groupId));
  return (
    <fieldset className="checklist" data-testid={testId}>
      <legend>{legend}</legend>
      {groups.length === 0 ? (
        <p className="muted">There are no groups yet.</p>
      ) : (
        groups.map((group) => (
          <label key={group.id} className="check">
            <input type="checkbox" checked={selected.includes(group.id)} onChange={(event) => toggle(group.id, event.target.checked)} />
            {group.name}
          </label>
        ))
      )}
    </fieldset>
  );
}
